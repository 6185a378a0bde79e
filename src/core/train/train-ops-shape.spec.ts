import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../runtime/testing/runtime-testing';
import { gradCheck, opNode as node, trainContext } from './testing-train-ops';
import { TRAIN_OPS } from './train-ops';

const ints = (values: number[]) => ({ fixed: values, shape: [values.length], dtype: 'int32' as const });

describe.each(['wasm', 'cpu'] as const)('training ops: shape ops backward = finite differences (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('Reshape (0 and −1), Flatten, Unsqueeze, Squeeze', () => {
    gradCheck(node('Reshape', 2), [[2, 3, 4], ints([0, -1])], [0], 2e-3);
    gradCheck(node('Flatten', 1, { axis: 2 }), [[2, 3, 2, 2]], [0], 2e-3);
    gradCheck(node('Unsqueeze', 2), [[2, 3], ints([0, -1])], [0], 2e-3);
    gradCheck(node('Squeeze', 2), [[2, 1, 3], ints([1])], [0], 2e-3);
  });

  it('Transpose, Concat along axis 1, Split with given and even sizes', () => {
    gradCheck(node('Transpose', 1, { perm: [2, 0, 3, 1] }), [[2, 3, 4, 2]], [0], 2e-3);
    gradCheck(node('Concat', 3, { axis: 1 }), [[2, 1, 3], [2, 2, 3], [2, 3, 3]], [0, 1, 2], 2e-3);
    gradCheck(node('Split', 2, { axis: 1 }, 2), [[2, 5, 2], ints([2, 3])], [0], 2e-3);
    gradCheck(node('Split', 1, { axis: -1 }, 2), [[3, 4]], [0], 2e-3);
  });

  it('Slice: positive and negative steps, clamped ends, several axes', () => {
    gradCheck(node('Slice', 5), [[4, 7, 3], ints([1, 6]), ints([100, -8]), ints([0, 1]), ints([2, -2])], [0], 2e-3);
    gradCheck(node('Slice', 4), [[2, 5], ints([0]), ints([1]), ints([1])], [0], 2e-3);
  });

  it('Gather: a class token (scalar index), repeated and negative indices', () => {
    gradCheck(node('Gather', 2, { axis: 1 }), [[2, 4, 3], { fixed: [0], shape: [], dtype: 'int32' as const }], [0], 2e-3);
    gradCheck(node('Gather', 2, { axis: 0 }), [[4, 3], { fixed: [3, -1, 0, 3], shape: [2, 2], dtype: 'int32' as const }], [0], 2e-3);
  });

  it('Expand, Tile, Pad (constant)', () => {
    gradCheck(node('Expand', 2), [[1, 1, 3], ints([2, 4, 1])], [0], 2e-3);
    gradCheck(node('Tile', 2), [[2, 3], ints([2, 3])], [0], 2e-3);
    gradCheck(node('Pad', 3), [[1, 2, 3, 3], ints([0, 0, 1, 2, 0, 0, 2, 0]), { fixed: [0.5], shape: [], dtype: 'float32' as const }], [0], 2e-3);
  });
});

describe('training ops: shape bookkeeping', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('the exporter’s dynamic-batch arithmetic runs as int32 without gradients', () => {
    const out = tf.tidy(() => {
      const ctx = trainContext();
      const x = tf.zeros([2, 3, 4]);
      const [shape] = TRAIN_OPS.Shape.forward(node('Shape', 1), [x], ctx).outputs;
      const [batch] = TRAIN_OPS.Gather.forward(node('Gather', 2, { axis: 0 }), [shape, tf.scalar(0, 'int32')], ctx).outputs;
      const [dims] = TRAIN_OPS.Unsqueeze.forward(node('Unsqueeze', 2), [batch, tf.tensor1d([0], 'int32')], ctx).outputs;
      const [target] = TRAIN_OPS.Concat.forward(node('Concat', 2, { axis: 0 }), [dims, tf.tensor1d([-1], 'int32')], ctx).outputs;
      const [filled] = TRAIN_OPS.ConstantOfShape.forward(node('ConstantOfShape', 1, { value: { dtype: 'I64', shape: [1], values: [1] } }), [dims], ctx).outputs;
      return { shape: Array.from(shape.dataSync()), target: Array.from(target.dataSync()), dtype: target.dtype, filled: filled.shape };
    });
    expect(out).toEqual({ shape: [2, 3, 4], target: [2, -1], dtype: 'int32', filled: [2] });
    expect(TRAIN_OPS.Shape.backward).toBeUndefined();
    expect(TRAIN_OPS.ConstantOfShape.backward).toBeUndefined();
  });
});
