import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../runtime/testing/runtime-testing';
import { gradCheck, opNode as node, trainContext } from './testing-train-ops';
import { TRAIN_OPS } from './train-ops';

const ints = (values: number[]) => ({ fixed: values, shape: [values.length], dtype: 'int32' as const });

describe.each(['wasm', 'cpu'] as const)('training ops: reductions, normalizations, products backward = finite differences (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('ReduceMean (attribute axes, no keepdims), ReduceSum (input axes, keepdims)', () => {
    gradCheck(node('ReduceMean', 1, { axes: [2, 3], keepdims: 0 }), [[2, 3, 2, 2]], [0], 2e-3);
    gradCheck(node('ReduceSum', 2), [[2, 3, 4], ints([-1, 0])], [0], 2e-3);
  });

  it('Softmax and LogSoftmax on the last and on an inner axis', () => {
    gradCheck(node('Softmax', 1, { axis: -1 }), [[2, 3, 5]], [0], 5e-3);
    gradCheck(node('Softmax', 1, { axis: 1 }), [[2, 3, 2]], [0], 5e-3);
    gradCheck(node('LogSoftmax', 1, { axis: -1 }), [[3, 4]], [0], 5e-3);
  });

  it('LayerNormalization over the last axis and the last two; InstanceNormalization', () => {
    gradCheck(node('LayerNormalization', 3, { axis: -1, epsilon: 1e-6 }), [[2, 3, 5], [5], [5]], [0, 1, 2], 2e-2);
    gradCheck(node('LayerNormalization', 2, { axis: 1, epsilon: 1e-5 }), [[2, 3, 4], [3, 4]], [0, 1], 2e-2);
    gradCheck(node('InstanceNormalization', 3, { epsilon: 1e-5 }), [[2, 3, 3, 3], [3], [3]], [0, 1, 2], 2e-2);
  });

  it('MatMul: 2-D, batched with a broadcast weight, broadcast batch dimensions, 1-D operands', () => {
    gradCheck(node('MatMul', 2), [[3, 4], [4, 2]], [0, 1], 2e-3);
    gradCheck(node('MatMul', 2), [[2, 3, 4], [4, 5]], [0, 1], 2e-3);
    gradCheck(node('MatMul', 2), [[2, 1, 3, 4], [1, 3, 4, 2]], [0, 1], 2e-3);
    gradCheck(node('MatMul', 2), [[4], [2, 4, 3]], [0, 1], 2e-3);
    gradCheck(node('MatMul', 2), [[2, 3, 4], [4]], [0, 1], 2e-3);
  });

  it('Gemm with transposes, alpha, beta and a broadcast bias', () => {
    gradCheck(node('Gemm', 3, { transA: 1, transB: 0, alpha: 0.5, beta: 2 }), [[4, 3], [4, 5], [5]], [0, 1, 2], 2e-3);
    gradCheck(node('Gemm', 3, { transB: 1 }), [[3, 4], [5, 4], [1, 5]], [0, 1, 2], 2e-3);
  });

  it('GlobalAveragePool and GlobalMaxPool', () => {
    gradCheck(node('GlobalAveragePool', 1), [[2, 3, 3, 2]], [0], 2e-3);
    gradCheck(node('GlobalMaxPool', 1), [[2, 3, 3, 2]], [0], 2e-3, { h: 1e-3 });
  });
});

describe('training ops: normalization semantics', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('LayerNormalization normalizes with the biased variance and reports Mean and InvStdDev', () => {
    const [y, mean, invStd] = tf.tidy(() =>
      TRAIN_OPS.LayerNormalization.forward(node('LayerNormalization', 2, { epsilon: 0 }, 3), [tf.tensor([[1, 2, 3, 6]]), tf.ones([4])], trainContext()).outputs.map((t) =>
        Array.from(t.dataSync()),
      ),
    );
    // mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5.
    expect(mean).toEqual([3]);
    expect(invStd[0]).toBeCloseTo(1 / Math.sqrt(3.5), 6);
    expect(y[3]).toBeCloseTo(3 / Math.sqrt(3.5), 5);
  });
});
