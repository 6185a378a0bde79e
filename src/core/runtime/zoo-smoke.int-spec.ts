import { buildZooModel } from '../graph/zoo';
import { createEngine } from './engine';
import { maxAbsDiff, toFloat32Array } from './host-tensor';
import { randomWeights } from './random-weights';
import { seededInput, useBackend } from './testing/runtime-testing';

/**
 * Zoo graphs (exactly the exporter's op vocabulary) run on tfjs-wasm with seeded random weights,
 * give finite [1, 1000] logits, and agree with onnxruntime on the same graph and weights.
 * 224 px inputs, except vit_b_16 at 32 px (its weights are the same; the compute is 200x less).
 */
const MODELS: [name: string, imageSize: number][] = [
  ['resnet18', 224],
  ['mobilenet_v3_small', 224],
  ['efficientnet_b0', 224],
  ['convnext_tiny', 224],
  ['vit_b_16', 32],
  ['densenet121', 224],
  ['squeezenet1_1', 224],
  ['shufflenet_v2_x0_5', 224],
  ['googlenet', 224],
  ['regnet_y_400mf', 224],
  ['mnasnet0_5', 224],
];

beforeAll(() => useBackend('wasm'));

it.each(MODELS)('%s runs on tfjs-wasm and agrees with onnxruntime', async (name, imageSize) => {
  const graph = buildZooModel(name, { imageSize });
  const weights = randomWeights(graph, { seed: 1 });
  const input = { input: seededInput([1, 3, imageSize, imageSize], 7) };

  const tfjs = await createEngine('tfjs', graph, weights);
  const ours = await tfjs.run(input).finally(() => tfjs.dispose());
  const ort = await createEngine('onnxruntime', graph, weights, { intraOpNumThreads: 1 });
  const theirs = await ort.run(input).finally(() => ort.dispose());

  const logits = ours.logits;
  expect(logits.shape).toEqual([1, 1000]);
  const values = toFloat32Array(logits);
  expect(values.every(Number.isFinite)).toBe(true);
  const scale = Math.max(...toFloat32Array(theirs.logits).map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  expect(maxAbsDiff(logits, theirs.logits)).toBeLessThanOrEqual(1e-4 * scale);
}, 60_000);
