import { readFileSync } from 'node:fs';
import type { Dataset } from '../../datasets/dataset';
import { importOnnxGraph } from '../../graph/onnx-import';
import type { ArchitectureGraph } from '../../graph/ir';
import { hostTensorOf, readSafetensorsFile } from '../../runtime/testing/runtime-testing';
import { fixturesDir } from '../../testing/fixtures';
import type { ModelState } from '../trainer';

export const trainFixturesDir = fixturesDir('train');

/** A training fixture model (`cnn_bn`, `mlp`): its graph and initial state_dict. */
export async function loadTrainFixtureModel(m: string): Promise<{ graph: ArchitectureGraph; state: ModelState }> {
  const graph = importOnnxGraph(readFileSync(`${trainFixturesDir}/${m}.onnx`));
  const weights = await readSafetensorsFile(`${trainFixturesDir}/${m}.weights.safetensors`);
  const state: ModelState = { tensors: new Map(), counters: new Map() };
  for (const name of weights.keys()) {
    const t = hostTensorOf(weights, name);
    if (name.endsWith('num_batches_tracked')) state.counters.set(name, Number(t.data[0]));
    else state.tensors.set(name, { shape: t.shape, data: Float32Array.from(Array.from(t.data, Number)) });
  }
  return { graph, state };
}

/** A seeded uint8 dataset of n images c×h×w with labels cycling through `classes`. */
export function syntheticDataset(n: number, [c, h, w]: [number, number, number], classes: number, seed = 1): Dataset {
  const inputs = new Uint8Array(n * c * h * w);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < inputs.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    inputs[i] = (s >>> 0) % 256;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % classes);
  return { shape: [n, c, h, w], inputs, labels, classCount: classes };
}
