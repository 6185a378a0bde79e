import { zooNames } from '../graph/zoo';
import { useBackend } from '../runtime/testing/runtime-testing';
import { smallestImageSize, zooTrainStep } from './testing-zoo-train';

/**
 * Every zoo model takes one training step (batch 2, 10 classes, seeded random weights, label
 * smoothing 0.1) with a finite loss and a finite gradient for every parameter, at the smallest
 * input from 32 px up that it accepts. Not from 1 px: there every feature map is 1×1, a
 * training-mode BatchNorm sees two values per channel, channels that are zero for both samples
 * pass the gradient on scaled by 1/√ε, and in deep stacks (efficientnet_b7, efficientnet_v2_m,
 * regnet_x_16gf) that overflows float32: the exact gradient, not an error, but no check.
 * On tfjs-wasm, except the models below, whose training step (parameters, gradients and every
 * activation kept for the backward pass) outgrows tfjs-wasm's 4 GiB heap: they run on the cpu
 * backend, whose tensors live in the JavaScript heap. Parameter counts are with 10 classes.
 */
const CPU: Record<string, string> = {
  regnet_y_128gf: '637M parameters',
  vit_h_14: '631M parameters',
  vit_l_32: '306M parameters',
  vit_l_16: '303M parameters',
  convnext_large: '196M parameters',
  regnet_y_32gf: '141M parameters',
  vgg19: '140M parameters, 224 px at least (adaptive 7×7 pool)',
  vgg19_bn: '140M parameters, 224 px at least',
  vgg16: '134M parameters, 224 px at least',
  vgg16_bn: '134M parameters, 224 px at least',
  vgg13: '129M parameters, 224 px at least',
  vgg13_bn: '129M parameters, 224 px at least',
  vgg11: '129M parameters, 224 px at least',
  vgg11_bn: '129M parameters, 224 px at least',
  wide_resnet101_2: '125M parameters',
  efficientnet_v2_l: '117M parameters',
  regnet_x_32gf: '105M parameters',
  efficientnet_b7: '64M parameters, wide activations',
};

const imageSize = (name: string): number => smallestImageSize(name, 32);

function expectTrains(name: string): void {
  const step = zooTrainStep(name, imageSize(name));
  expect(Number.isFinite(step.loss)).toBe(true);
  expect(step.missing).toEqual([]);
  expect(step.nonFinite).toEqual([]);
  // A bias shift that a following conv carries into a training-mode BatchNorm cancels where
  // feature maps are 1×1: only biases may get an all-zero gradient, never many parameters.
  expect(step.zero.filter((p) => !p.endsWith('.bias'))).toEqual([]);
  expect(step.zero.length).toBeLessThan(step.parameters / 4);
}

describe('every zoo model trains on tfjs-wasm', () => {
  beforeAll(() => useBackend('wasm'));
  it.each(zooNames().filter((n) => CPU[n] === undefined))('%s', (name) => expectTrains(name), 600_000);
});

describe('zoo models too large for the tfjs-wasm heap train on cpu', () => {
  beforeAll(() => useBackend('cpu'));
  it.each(Object.keys(CPU))('%s', (name) => expectTrains(name), 600_000);
});
