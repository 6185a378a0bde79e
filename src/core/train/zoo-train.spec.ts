import { buildZooModel, zooNames } from '../graph/zoo';
import { useBackend } from '../runtime/testing/runtime-testing';
import { zooTrainStep } from './testing-zoo-train';
import { untrainableOps } from './trainable-graph';

/**
 * Three fast zoo models train on tfjs-wasm at their smallest input (batch 2); every op is checked
 * on its own in the train-ops specs, and every zoo model is trained in zoo-train.int-spec.ts.
 */
const MODELS = [
  'resnet20', // Conv, BatchNorm, Relu, Add, GlobalAveragePool, Flatten, Gemm
  'shufflenet_v2_x0_5', // Split, Concat, Reshape/Transpose channel shuffle, ReduceMean, depthwise Conv
  'squeezenet1_1', // ceil_mode MaxPool, Concat
];

describe('zoo models train', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('every op of every zoo model has a training op', () => {
    const untrainable = zooNames().filter((name) => untrainableOps(buildZooModel(name, { numClasses: 3 })).length > 0);
    expect(untrainable).toEqual([]);
  });

  it.each(MODELS)('%s: one step at the smallest input gives a finite loss and a finite gradient for every parameter', (name) => {
    const step = zooTrainStep(name);
    expect(Number.isFinite(step.loss)).toBe(true);
    expect(step.missing).toEqual([]);
    expect(step.nonFinite).toEqual([]);
    // A shift before a conv into a training-mode BatchNorm cancels exactly at 1×1 feature maps:
    // only biases may get an all-zero gradient, and never most of the parameters.
    expect(step.zero.filter((p) => !p.endsWith('.bias'))).toEqual([]);
    expect(step.zero.length).toBeLessThan(step.parameters / 4);
  });
});
