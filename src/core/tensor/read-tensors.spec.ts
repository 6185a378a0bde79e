import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFloat32Tensors } from './read-tensors';

describe('readFloat32Tensors', () => {
  beforeAll(async () => {
    tf.env().set('IS_TEST', true);
    await tf.setBackend('cpu');
  });

  const tensors = (): tf.Tensor[] => [tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.scalar(5), tf.tensor1d([6, 7, 8]), tf.zeros([0])];

  it.each([false, true])('gives every tensor its own values in order (pack %s) and leaks nothing', async (pack) => {
    const ts = tensors();
    const before = tf.memory().numTensors;
    const values = await readFloat32Tensors(ts, { pack });
    expect(values.map((v) => Array.from(v))).toEqual([[1, 2, 3, 4], [5], [6, 7, 8], []]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(ts);
  });

  it('reads nothing from an empty list', async () => {
    await expect(readFloat32Tensors([], { pack: true })).resolves.toEqual([]);
  });
});
