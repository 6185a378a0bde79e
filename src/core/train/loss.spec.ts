import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../runtime/testing/runtime-testing';
import { crossEntropy, crossEntropyGrad } from './loss';

describe('cross-entropy with label smoothing', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  const logits = [
    [2, 0, -1],
    [0.5, 0.5, 3],
  ];
  const labels = [0, 1];

  /** −Σ q·log softmax, averaged, in double precision. */
  function reference(z: number[][], y: number[], eps: number): number {
    return (
      z.reduce((total, row, n) => {
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
        return total - row.reduce((s, v, k) => s + ((k === y[n] ? 1 - eps : 0) + eps / row.length) * (v - lse), 0);
      }, 0) / z.length
    );
  }

  it.each([0, 0.1, 1])('equals −Σ q·log softmax with q = (1 − ε)·onehot + ε/K (ε = %s)', (eps) => {
    const value = tf.tidy(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), eps).dataSync()[0]);
    expect(value).toBeCloseTo(reference(logits, labels, eps), 5);
  });

  it('has the gradient (softmax − q)/N, which matches finite differences', () => {
    const eps = 0.1;
    const grad = tf.tidy(() => crossEntropyGrad(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), eps).arraySync());
    const h = 1e-5;
    logits.forEach((row, n) =>
      row.forEach((_, k) => {
        const plus = logits.map((r, i) => r.map((v, j) => (i === n && j === k ? v + h : v)));
        const minus = logits.map((r, i) => r.map((v, j) => (i === n && j === k ? v - h : v)));
        expect(grad[n][k]).toBeCloseTo((reference(plus, labels, eps) - reference(minus, labels, eps)) / (2 * h), 5);
      }),
    );
  });

  it('rejects a smoothing outside [0, 1]', () => {
    expect(() => tf.tidy(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), 1.5))).toThrow(/smoothing/);
  });
});
