import { performance } from 'node:perf_hooks';
import type { Ghn } from '../ghn/ghn';
import { loadFixtureGhn } from '../ghn/testing-ghn-fixtures';
import { buildGhnGraph } from '../graph/ghn';
import { buildZooModel, zooNames } from '../graph/zoo';
import { predictInitialization } from '../init';
import { createEngine } from './engine';
import { toFloat32Array, type TensorBytes } from './host-tensor';
import { seededInput, useBackend } from './testing/runtime-testing';
import { tensorSetWeights } from './weights';

/**
 * Every zoo architecture runs with a GHN initialization (the runtime issue's smoke test): the
 * fixtures' ghn3_h32_l3 GHN predicts its parameters (torch-default values for the rest, fresh
 * BatchNorm statistics), the runtime executes it on one image at the model's own resolution, and
 * the logits are finite and [1, classes] (1000; 10 for the CIFAR-style models). onnxruntime runs it
 * (models over 128 MiB, regnet_y_128gf and vit_h_14 past protobuf's 2 GiB among them, through an
 * external data file); the GHN predicts on wasm.
 */
const SLOW_MS = 240_000;

let ghn: Ghn;
beforeAll(async () => {
  await useBackend('wasm');
  ghn = await loadFixtureGhn('ghn3_h32_l3');
});
afterAll(() => ghn.dispose());

it('covers the whole zoo', () => {
  expect(zooNames().length).toBeGreaterThanOrEqual(76);
});

it.each(zooNames())('%s runs with a GHN initialization', async (name) => {
  const started = performance.now();
  const graph = buildZooModel(name);
  const init = await predictInitialization(ghn, buildGhnGraph(graph, { builder: 'ghn3' }), graph, { seed: 0 });
  expect(init.predicted.length).toBeGreaterThan(0);
  const weights: Map<string, TensorBytes> = await tensorSetWeights({ tensors: init.tensors, metadata: {}, format: 'safetensors' });
  const bytes = [...weights.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
  const [, channels, height, width] = graph.inputs[0].shape as number[];
  const engine = await createEngine('onnxruntime', graph, weights, { intraOpNumThreads: 2 });
  try {
    const out = await engine.run({ [graph.inputs[0].name]: seededInput([1, channels, height, width], 7) });
    const logits = out[graph.outputs[0].name];
    expect(logits.shape).toEqual([1, graph.outputs[0].shape[1]]);
    expect(toFloat32Array(logits).every(Number.isFinite)).toBe(true);
  } finally {
    engine.dispose();
  }
  process.stderr.write(`${name}: ${(bytes / 1e6).toFixed(0)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}, SLOW_MS);
