import * as tf from '@tensorflow/tfjs-core';
import { randomStream } from '../init/seeded-random';
import { useBackend } from '../runtime/testing/runtime-testing';
import { gradCheck, opNode as node, trainContext } from './testing-train-ops';
import { TRAIN_OPS } from './train-ops';

const positive = (shape: number[]) => ({ shape, map: (v: number) => Math.abs(v) + 0.5 });
/** Values at least 0.05 away from 0, so that a finite difference does not straddle a kink there. */
const awayFromZero = (shape: number[]) => ({ shape, map: (v: number) => (v < 0 ? v - 0.05 : v + 0.05) });
const fixed = (values: number[], shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32') => ({ fixed: values, shape, dtype });

describe.each(['wasm', 'cpu'] as const)('training ops: elementwise backward = finite differences (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('broadcasting Add, Sub, Mul, Div, Pow, PRelu', () => {
    gradCheck(node('Add', 2), [[2, 3], [3]], [0, 1], 2e-3);
    gradCheck(node('Sub', 2), [[2, 1, 3], [4, 1]], [0, 1], 2e-3);
    gradCheck(node('Mul', 2), [[2, 3, 4], [3, 1]], [0, 1], 2e-3);
    gradCheck(node('Div', 2), [[2, 3], positive([2, 1])], [0, 1], 5e-3);
    gradCheck(node('Pow', 2), [positive([2, 3]), [3]], [0, 1], 5e-3);
    gradCheck(node('Pow', 2), [[2, 3], fixed([2], [])], [0], 5e-3);
    gradCheck(node('PRelu', 2), [[2, 3, 2, 2], [3, 1, 1]], [0, 1], 2e-3, { h: 1e-3 });
  });

  it('smooth activations: Sigmoid, Tanh, Erf, Gelu (erf and tanh forms), Softplus, Exp, Log, Sqrt, Reciprocal, Elu', () => {
    for (const op of ['Sigmoid', 'Tanh', 'Erf', 'Gelu', 'Softplus', 'Exp', 'Neg']) gradCheck(node(op, 1), [[2, 5]], [0], 5e-3);
    gradCheck(node('Gelu', 1, { approximate: 'tanh' }), [[2, 5]], [0], 5e-3);
    for (const op of ['Log', 'Sqrt', 'Reciprocal']) gradCheck(node(op, 1), [positive([2, 5])], [0], 5e-3);
    gradCheck(node('Elu', 1, { alpha: 0.7 }), [awayFromZero([2, 5])], [0], 5e-3, { h: 1e-3 });
  });

  it('piecewise activations away from their kinks: Relu, LeakyRelu, Abs, Clip, HardSigmoid, HardSwish', () => {
    for (const op of ['Relu', 'Abs']) gradCheck(node(op, 1), [awayFromZero([2, 6])], [0], 2e-3, { h: 1e-3 });
    gradCheck(node('LeakyRelu', 1, { alpha: 0.1 }), [awayFromZero([2, 6])], [0], 2e-3, { h: 1e-3 });
    // ReLU6 as exported: Clip with constant bounds, inputs on both sides of both bounds.
    gradCheck(node('Clip', 3), [{ shape: [3, 4], map: (v: number) => v * 9 + (v > 0 ? 0.3 : -0.3) }, fixed([0], []), fixed([6], [])], [0], 2e-3, { h: 1e-3 });
    gradCheck(node('HardSigmoid', 1, { alpha: 1 / 6, beta: 0.5 }), [{ shape: [3, 4], map: (v: number) => v * 5 + 0.1 }], [0], 5e-3, { h: 1e-3 });
    gradCheck(node('HardSwish', 1), [{ shape: [3, 4], map: (v: number) => v * 5 + 0.1 }], [0], 5e-3, { h: 1e-3 });
  });

  it('Where routes the gradient to the taken branch; Sum and Mean of several inputs; Cast between floats', () => {
    gradCheck(node('Where', 3), [fixed([1, 0, 0, 1, 1, 0], [2, 3], 'bool'), [2, 3], [3]], [1, 2], 2e-3);
    gradCheck(node('Sum', 3), [[2, 3], [3], [2, 1]], [0, 1, 2], 2e-3);
    gradCheck(node('Mean', 2), [[2, 3], [3]], [0, 1], 2e-3);
    gradCheck(node('Cast', 1, { to: 1 }), [[4]], [0], 2e-3);
  });

  it('Dropout in training mode: the same seeded mask in forward and backward', () => {
    gradCheck(node('Dropout', 2, {}, 2), [[4, 6], fixed([0.3], [])], [0], 2e-3);
  });
});

describe('training ops: elementwise semantics', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('Dropout drops about p of the elements, scales the rest by 1/(1−p), and is reproducible per seed', () => {
    const n = node('Dropout', 2, {}, 2);
    const run = (seed: number): number[] =>
      tf.tidy(() => {
        const ctx = { training: true, batchNormUpdates: [], random: (name: string) => randomStream(seed, name) };
        return Array.from(TRAIN_OPS.Dropout.forward(n, [tf.ones([4000]), tf.scalar(0.25)], ctx).outputs[0].dataSync());
      });
    const y = run(1);
    const dropped = y.filter((v) => v === 0).length / y.length;
    expect(dropped).toBeGreaterThan(0.22);
    expect(dropped).toBeLessThan(0.28);
    expect(new Set(y.filter((v) => v !== 0).map((v) => v.toFixed(5)))).toEqual(new Set([(1 / 0.75).toFixed(5)]));
    expect(run(1)).toEqual(y);
    expect(run(2)).not.toEqual(y);
  });

  it('Dropout is the identity in eval mode and throws without a random stream in training mode', () => {
    const n = node('Dropout', 2, {}, 2);
    const evalOut = tf.tidy(() => Array.from(TRAIN_OPS.Dropout.forward(n, [tf.tensor([1, 2, 3]), tf.scalar(0.5)], trainContext(false)).outputs[0].dataSync()));
    expect(evalOut).toEqual([1, 2, 3]);
    expect(() => tf.tidy(() => TRAIN_OPS.Dropout.forward(n, [tf.ones([3]), tf.scalar(0.5)], { training: true, batchNormUpdates: [] }).outputs)).toThrow(/random stream/);
  });

  it('Clip passes the gradient strictly inside its bounds, as PyTorch’s hardtanh (ReLU6)', () => {
    const n = node('Clip', 3);
    const dx = tf.tidy(() => {
      const inputs = [tf.tensor([-1, 0, 3, 6, 7]), tf.scalar(0), tf.scalar(6)];
      const f = TRAIN_OPS.Clip.forward(n, inputs, trainContext());
      return Array.from(TRAIN_OPS.Clip.backward!(n, inputs, f, [tf.ones([5])])[0]!.dataSync());
    });
    expect(dx).toEqual([0, 0, 1, 0, 0]);
  });
});
