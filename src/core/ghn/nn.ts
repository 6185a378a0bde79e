import * as tf from '@tensorflow/tfjs-core';
import type { Dense, Norm } from './ghn-weights';

/** x·W + b over the last dimension (weights stored [in, out]). */
export function linear(x: tf.Tensor, d: Dense): tf.Tensor {
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    const inF = x.shape[x.shape.length - 1];
    let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inF]), d.w);
    if (d.b) y = tf.add(y, d.b);
    return tf.reshape(y, [...lead, d.w.shape[1]]);
  });
}

/** LayerNorm over the last dimension (biased variance, as PyTorch). */
export function layerNorm(x: tf.Tensor, n: Norm, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const axis = x.shape.length - 1;
    const { mean, variance } = tf.moments(x, axis, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), n.weight), n.bias);
  });
}

/** Exact (erf) GELU, nn.GELU's default. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** Gathers rows of an embedding table by integer indices. */
export function embed(table: tf.Tensor2D, indices: ArrayLike<number>): tf.Tensor2D {
  return tf.tidy(() => tf.gather(table, tf.tensor1d(Array.from(indices), 'int32')) as tf.Tensor2D);
}
