import type { Ghn } from '../ghn/ghn';
import { loadFixtureGhn } from '../ghn/testing-ghn-fixtures';
import { buildGhnGraph } from '../graph/ghn';
import { buildZooModel } from '../graph/zoo';
import { predictInitialization } from '../init';
import { createEngine } from './engine';
import { maxAbsDiff, toFloat32Array, type TensorBytes } from './host-tensor';
import { randomWeights } from './random-weights';
import { seededInput, useBackend } from './testing/runtime-testing';
import { tensorSetWeights } from './weights';

/**
 * The CIFAR-style zoo models run on both engines, on RGB 32×32 and grayscale 28×28 inputs: with
 * seeded random weights tfjs-wasm and onnxruntime agree, and with a GHN initialization (the
 * fixtures' ghn3_h32_l3) onnxruntime gives finite logits of the requested class count.
 */
const MODELS = ['resnet20', 'resnet56', 'wrn16_4'];
const INPUTS: [inChannels: number, imageSize: number][] = [
  [3, 32],
  [1, 28],
];
const CASES = MODELS.flatMap((name) => INPUTS.map(([c, s]) => [name, c, s] as const));

let ghn: Ghn;
beforeAll(async () => {
  await useBackend('wasm');
  ghn = await loadFixtureGhn('ghn3_h32_l3');
});
afterAll(() => ghn.dispose());

it.each(CASES)('%s (%d channels, %d px) agrees on tfjs-wasm and onnxruntime', async (name, inChannels, imageSize) => {
  const graph = buildZooModel(name, { inChannels, imageSize });
  const weights = randomWeights(graph, { seed: 1 });
  const input = { input: seededInput([2, inChannels, imageSize, imageSize], 7) };
  const tfjs = await createEngine('tfjs', graph, weights);
  const ours = await tfjs.run(input).finally(() => tfjs.dispose());
  const ort = await createEngine('onnxruntime', graph, weights, { intraOpNumThreads: 1 });
  const theirs = await ort.run(input).finally(() => ort.dispose());

  expect(ours.logits.shape).toEqual([2, 10]);
  expect(toFloat32Array(ours.logits).every(Number.isFinite)).toBe(true);
  const scale = Math.max(...toFloat32Array(theirs.logits).map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  expect(maxAbsDiff(ours.logits, theirs.logits)).toBeLessThanOrEqual(1e-4 * scale);
}, 30_000);

it.each(MODELS)('%s runs with a GHN initialization on 28×28 grayscale, 7 classes', async (name) => {
  const graph = buildZooModel(name, { inChannels: 1, imageSize: 28, numClasses: 7 });
  const init = await predictInitialization(ghn, buildGhnGraph(graph, { builder: 'ghn3' }), graph, { seed: 0 });
  expect(init.predicted).toContain('conv1.weight');
  const weights: Map<string, TensorBytes> = await tensorSetWeights({ tensors: init.tensors, metadata: {}, format: 'safetensors' });
  expect(weights.get('conv1.weight')?.shape).toEqual([16, 1, 3, 3]);
  const engine = await createEngine('onnxruntime', graph, weights, { intraOpNumThreads: 1 });
  try {
    const out = await engine.run({ input: seededInput([1, 1, 28, 28], 7) });
    expect(out.logits.shape).toEqual([1, 7]);
    expect(toFloat32Array(out.logits).every(Number.isFinite)).toBe(true);
  } finally {
    engine.dispose();
  }
}, 30_000);
