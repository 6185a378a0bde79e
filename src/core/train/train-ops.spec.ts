import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { seededInput, useBackend } from '../runtime/testing/runtime-testing';
import type { TrainOpContext } from './train-op-types';
import { TRAIN_OPS, unbroadcast } from './train-ops';

function node(opType: string, inputs: number, attributes: GraphNode['attributes'] = {}): GraphNode {
  return { name: `test/${opType}`, opType, inputs: Array.from({ length: inputs }, (_, i) => `in${i}`), outputs: ['out'], attributes };
}

/**
 * Checks an op's backward against central finite differences of L = Σ y·r (r random), for the
 * inputs listed in `wrt`, on every element. Linear ops are exact up to float32 rounding.
 */
function gradCheck(n: GraphNode, shapes: number[][], wrt: number[], tolerance: number, h = 1e-2, training = true): void {
  const ctx = (): TrainOpContext => ({ training, batchNormUpdates: [] });
  // Variances (BatchNorm input 4) must be positive.
  const values = shapes.map((s, i) => (seededInput(s, 11 + i).data as Float32Array).map((v) => (n.opType === 'BatchNormalization' && i === 4 ? Math.abs(v) + 0.5 : v)));
  const lossOf = (vals: Float32Array[], r: tf.Tensor): number =>
    tf.tidy(() => {
      const y = TRAIN_OPS[n.opType].forward(n, vals.map((v, i) => tf.tensor(v, shapes[i])), ctx()).outputs[0];
      return tf.sum(tf.mul(y, r)).dataSync()[0];
    });
  tf.tidy(() => {
    const inputs = values.map((v, i) => tf.tensor(v, shapes[i]));
    const forward = TRAIN_OPS[n.opType].forward(n, inputs, ctx());
    const r = tf.tensor(seededInput(forward.outputs[0].shape, 99).data as Float32Array, forward.outputs[0].shape);
    const grads = TRAIN_OPS[n.opType].backward!(n, inputs, forward, [r]);
    for (const k of wrt) {
      const analytic = grads[k]!.dataSync();
      let worst = 0;
      let scale = 0;
      for (let e = 0; e < values[k].length; e++) {
        const shifted = (d: number) => values.map((v, i) => (i === k ? v.map((x, j) => (j === e ? x + d : x)) : v));
        const numeric = (lossOf(shifted(h), r) - lossOf(shifted(-h), r)) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - analytic[e]));
        scale = Math.max(scale, Math.abs(numeric));
      }
      if (!(worst <= tolerance * scale)) throw new Error(`${n.opType} input ${k}: max gradient error ${worst} (scale ${scale})`);
    }
  });
}

describe.each(['wasm', 'cpu'] as const)('training ops: backward = finite differences (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('Conv: stride 2, asymmetric pads, bias', () => {
    gradCheck(node('Conv', 3, { strides: [2, 2], pads: [1, 0, 2, 1], kernel_shape: [3, 3] }), [[2, 3, 7, 6], [4, 3, 3, 3], [4]], [0, 1, 2], 2e-3);
  });

  it('Conv: two groups, stride 1', () => {
    gradCheck(node('Conv', 2, { group: 2, pads: [1, 1, 1, 1] }), [[1, 4, 5, 5], [6, 2, 3, 3]], [0, 1], 2e-3);
  });

  it('MaxPool: overlapping 3×3 windows, stride 2, padding', () => {
    gradCheck(node('MaxPool', 1, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [[2, 2, 7, 7]], [0], 5e-3, 1e-3);
  });

  it('AveragePool and GlobalAveragePool', () => {
    gradCheck(node('AveragePool', 1, { kernel_shape: [2, 2], strides: [2, 2] }), [[1, 2, 6, 6]], [0], 2e-3);
    gradCheck(node('GlobalAveragePool', 1), [[2, 3, 4, 4]], [0], 2e-3);
  });

  it('BatchNormalization in training and eval mode', () => {
    gradCheck(node('BatchNormalization', 5, { epsilon: 1e-5, momentum: 0.9 }), [[3, 2, 3, 3], [2], [2], [2], [2]], [0, 1, 2], 2e-2);
    gradCheck(node('BatchNormalization', 5, { epsilon: 1e-5 }), [[3, 2, 3, 3], [2], [2], [2], [2]], [0, 1, 2], 2e-2, 1e-2, false);
  });

  it('Gemm with transposes, alpha, beta and a broadcast bias; broadcasting Mul', () => {
    gradCheck(node('Gemm', 3, { transA: 1, transB: 0, alpha: 0.5, beta: 2 }), [[4, 3], [4, 5], [5]], [0, 1, 2], 2e-3);
    gradCheck(node('Gemm', 3, { transB: 1 }), [[3, 4], [5, 4], [1, 5]], [0, 1, 2], 2e-3);
    gradCheck(node('Mul', 2), [[2, 3, 4], [3, 1]], [0, 1], 2e-3);
  });
});

describe('training ops', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('MaxPool sends a tied window’s gradient to its first maximum only, as PyTorch', () => {
    const n = node('MaxPool', 1, { kernel_shape: [2, 2], strides: [2, 2] });
    const dx = tf.tidy(() => {
      const x = tf.tensor([1, 3, 3, 0], [1, 1, 2, 2]);
      const f = TRAIN_OPS.MaxPool.forward(n, [x], { training: true, batchNormUpdates: [] });
      return Array.from(TRAIN_OPS.MaxPool.backward!(n, [x], f, [tf.ones([1, 1, 1, 1])])[0]!.dataSync());
    });
    expect(dx).toEqual([0, 1, 0, 0]);
  });

  it('training-mode BatchNorm updates running statistics as PyTorch (momentum 0.1, unbiased variance)', () => {
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
