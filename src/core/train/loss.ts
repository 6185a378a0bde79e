import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';

/** The smoothed targets: (1 − ε)·one-hot + ε/K, PyTorch's label smoothing. */
function targets(labels: tf.Tensor1D, classes: number, smoothing: number): tf.Tensor2D {
  if (!(smoothing >= 0 && smoothing <= 1)) throw new CoreError('INVALID_ARGUMENT', `label smoothing must be in [0, 1], got ${smoothing}`);
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
  return (smoothing === 0 ? oneHot : tf.add(tf.mul(oneHot, 1 - smoothing), smoothing / classes)) as tf.Tensor2D;
}

/**
 * Cross-entropy of logits [N, K] against integer labels [N], the mean over the batch, with label
 * smoothing as torch.nn.functional.cross_entropy: −Σ_k q_k·log softmax(x)_k, q = (1 − ε)·onehot + ε/K.
 * Differentiable (autodiff gives the gradient below).
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const q = targets(labels, logits.shape[1], smoothing);
    return tf.neg(tf.mean(tf.sum(tf.mul(q, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** d loss / d logits in closed form: (softmax(x) − q) / N. */
export function crossEntropyGrad(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing = 0): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.sub(tf.softmax(logits), targets(labels, logits.shape[1], smoothing)), logits.shape[0]));
}
