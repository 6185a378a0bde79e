import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../runtime/testing/runtime-testing';
import { gradCheck, opNode as node, trainContext } from './testing-train-ops';
import type { TrainOpContext } from './train-op-types';
import { TRAIN_OPS, unbroadcast } from './train-ops';

const positive = (shape: number[]) => ({ shape, map: (v: number) => Math.abs(v) + 0.5 });

describe.each(['wasm', 'cpu'] as const)('training ops: Conv, pooling, BatchNorm backward = finite differences (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('Conv: stride 2, asymmetric pads, bias', () => {
    gradCheck(node('Conv', 3, { strides: [2, 2], pads: [1, 0, 2, 1], kernel_shape: [3, 3] }), [[2, 3, 7, 6], [4, 3, 3, 3], [4]], [0, 1, 2], 2e-3);
  });

  it('Conv: two groups, stride 1', () => {
    gradCheck(node('Conv', 2, { group: 2, pads: [1, 1, 1, 1] }), [[1, 4, 5, 5], [6, 2, 3, 3]], [0, 1], 2e-3);
  });

  it('Conv: depthwise, stride 2, and depthwise with a channel multiplier', () => {
    gradCheck(node('Conv', 3, { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }), [[2, 3, 7, 7], [3, 1, 3, 3], [3]], [0, 1, 2], 2e-3);
    gradCheck(node('Conv', 2, { group: 2, pads: [0, 1, 1, 0] }), [[2, 2, 5, 4], [6, 1, 2, 3]], [0, 1], 2e-3);
  });

  it('Conv: dilated (stride 1), dilated and strided, dilated depthwise and strided', () => {
    gradCheck(node('Conv', 2, { dilations: [2, 2], pads: [2, 2, 2, 2] }), [[1, 2, 6, 6], [3, 2, 3, 3]], [0, 1], 2e-3);
    gradCheck(node('Conv', 2, { dilations: [2, 1], strides: [2, 2], pads: [1, 0, 2, 1] }), [[2, 2, 8, 7], [3, 2, 3, 2]], [0, 1], 2e-3);
    gradCheck(node('Conv', 2, { group: 4, dilations: [2, 2], strides: [2, 2], pads: [2, 2, 2, 2] }), [[1, 4, 7, 7], [4, 1, 3, 3]], [0, 1], 2e-3);
  });

  it('MaxPool: overlapping 3×3 windows, stride 2, padding; ceil_mode', () => {
    gradCheck(node('MaxPool', 1, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [[2, 2, 7, 7]], [0], 5e-3, { h: 1e-3 });
    gradCheck(node('MaxPool', 1, { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), [[1, 2, 8, 8]], [0], 5e-3, { h: 1e-3 });
  });

  it('AveragePool: plain, padded with and without count_include_pad, ceil_mode; GlobalAveragePool', () => {
    gradCheck(node('AveragePool', 1, { kernel_shape: [2, 2], strides: [2, 2] }), [[1, 2, 6, 6]], [0], 2e-3);
    gradCheck(node('AveragePool', 1, { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }), [[1, 2, 5, 5]], [0], 2e-3);
    gradCheck(node('AveragePool', 1, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [[1, 2, 6, 6]], [0], 2e-3);
    gradCheck(node('AveragePool', 1, { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, count_include_pad: 1 }), [[1, 1, 5, 5]], [0], 2e-3);
    gradCheck(node('GlobalAveragePool', 1), [[2, 3, 4, 4]], [0], 2e-3);
  });

  it('BatchNormalization in training and eval mode', () => {
    const bn = node('BatchNormalization', 5, { epsilon: 1e-5, momentum: 0.9 });
    gradCheck(bn, [[3, 2, 3, 3], [2], [2], [2], positive([2])], [0, 1, 2], 2e-2);
    gradCheck(bn, [[3, 2, 3, 3], [2], [2], [2], positive([2])], [0, 1, 2], 2e-2, { training: false });
  });
});

describe('training ops: PyTorch semantics', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  const run = (opType: string, attributes: Parameters<typeof node>[2], x: tf.Tensor): number[] =>
    tf.tidy(() => Array.from(TRAIN_OPS[opType].forward(node(opType, 1, attributes), [x], trainContext()).outputs[0].dataSync()));

  it('MaxPool sends a tied window’s gradient to its first maximum only', () => {
    const n = node('MaxPool', 1, { kernel_shape: [2, 2], strides: [2, 2] });
    const dx = tf.tidy(() => {
      const x = tf.tensor([1, 3, 3, 0], [1, 1, 2, 2]);
      const f = TRAIN_OPS.MaxPool.forward(n, [x], trainContext());
      return Array.from(TRAIN_OPS.MaxPool.backward!(n, [x], f, [tf.ones([1, 1, 1, 1])])[0]!.dataSync());
    });
    expect(dx).toEqual([0, 1, 0, 0]);
  });

  it('ceil_mode pooling keeps the partial last window, but none that starts in the padding', () => {
    const x = tf.tensor(Array.from({ length: 25 }, (_, i) => i), [1, 1, 5, 5]);
    // PyTorch max_pool2d(kernel 2, stride 2, ceil_mode=True) on 5×5: 3×3, the last row/column windows are 1 wide.
    expect(run('MaxPool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, x)).toEqual([6, 8, 9, 16, 18, 19, 21, 23, 24]);
    // avg_pool2d(2, 2, ceil_mode=True, count_include_pad=True): edge windows divide by what they cover.
    const avg = run('AveragePool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, count_include_pad: 1 }, x);
    expect(avg.map((v) => Math.round(v * 100) / 100)).toEqual([3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24]);
    // kernel 2, stride 2, pad 1, ceil_mode on 5×5: a 4th window per axis would start in the end padding, so 3×3.
    expect(run('MaxPool', { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }, x)).toEqual([0, 2, 4, 10, 12, 14, 20, 22, 24]);
    x.dispose();
  });

  it('padded average pooling divides by the padded window (count_include_pad) or by the real elements', () => {
    const x = tf.ones([1, 1, 3, 3]);
    const attrs = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
    expect(run('AveragePool', { ...attrs, count_include_pad: 1 }, x).map((v) => Math.round(v * 9))).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    expect(run('AveragePool', { ...attrs, count_include_pad: 0 }, x)).toEqual(new Array(9).fill(1));
    x.dispose();
  });

  it('training-mode BatchNorm updates running statistics (momentum 0.1, unbiased variance)', () => {
    const n = node('BatchNormalization', 5, { epsilon: 1e-5, momentum: 0.9 });
    const ctx: TrainOpContext = { training: true, batchNormUpdates: [] };
    const [mean, variance] = tf.tidy(() => {
      const x = tf.tensor([1, 2, 3, 5], [4, 1]);
      TRAIN_OPS.BatchNormalization.forward(n, [x, tf.ones([1]), tf.zeros([1]), tf.tensor([1]), tf.tensor([2])], ctx);
      return [ctx.batchNormUpdates[0].newMean.dataSync()[0], ctx.batchNormUpdates[0].newVariance.dataSync()[0]];
    });
    // batch mean 2.75, unbiased variance 8.75/3: 0.9·1 + 0.1·2.75, 0.9·2 + 0.1·2.9167.
    expect(mean).toBeCloseTo(1.175, 6);
    expect(variance).toBeCloseTo(2.091667, 5);
  });

  it('unbroadcast sums over broadcast axes', () => {
    const s = tf.tidy(() => Array.from(unbroadcast(tf.ones([2, 3, 4]), [3, 1]).dataSync()));
    expect(s).toEqual([8, 8, 8]);
  });
});
