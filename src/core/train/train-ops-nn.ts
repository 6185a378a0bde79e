import * as tf from '@tensorflow/tfjs-core';
import { need, num, type TrainOp } from './train-op-types';

/** Per-channel sums of an [N, C, ...] tensor, accumulated in double precision, as [1, C, 1, ...]. */
export function channelSums(t: tf.Tensor): tf.Tensor {
  const data = t.dataSync();
  const [n, c] = t.shape;
  const inner = t.size / (n * c);
  const sums = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      const start = (b * c + ch) * inner;
      for (let i = start; i < start + inner; i++) s += data[i];
      sums[ch] += s;
    }
  }
  return tf.tensor(Float32Array.from(sums), [1, c, ...new Array<number>(t.rank - 2).fill(1)]);
}

/**
 * BatchNormalization. Training mode (PyTorch's): normalize with the batch mean and biased variance;
 * running_mean ← (1−m)·running_mean + m·mean, running_var ← (1−m)·running_var + m·unbiased variance,
 * m = 1 − the ONNX momentum (PyTorch's 0.1). Eval mode: the running statistics. Closed-form backward.
 */
export const batchNormOp: TrainOp = {
  forward(node, inputs, ctx) {
    const x = need(node, inputs, 0);
    const [gamma, beta, runningMean, runningVar] = [1, 2, 3, 4].map((i) => need(node, inputs, i));
    const shape = [1, -1, ...new Array<number>(Math.max(x.rank - 2, 0)).fill(1)];
    let mean = tf.reshape(runningMean, shape);
    let variance = tf.reshape(runningVar, shape);
    if (ctx.training) {
      const count = x.size / (x.shape[1] ?? 1);
      mean = tf.div(channelSums(x), count);
      variance = tf.div(channelSums(tf.square(tf.sub(x, mean))), count);
      const m = ctx.batchNormMomentum ?? 1 - num(node, 'momentum', 0.9);
      const unbiased = tf.mul(tf.reshape(variance, [-1]), count / Math.max(count - 1, 1));
      ctx.batchNormUpdates.push({
        mean: node.inputs[3],
        variance: node.inputs[4],
        newMean: tf.add(tf.mul(runningMean, 1 - m), tf.mul(tf.reshape(mean, [-1]), m)),
        newVariance: tf.add(tf.mul(runningVar, 1 - m), tf.mul(unbiased, m)),
      });
    }
    const invStd = tf.rsqrt(tf.add(variance, num(node, 'epsilon', 1e-5)));
    const normalized = tf.mul(tf.sub(x, mean), invStd);
    const y = tf.add(tf.mul(normalized, tf.reshape(gamma, shape)), tf.reshape(beta, shape));
    return { outputs: [y], saved: [normalized, invStd, tf.scalar(ctx.training ? 1 : 0)] };
  },
  backward(node, inputs, { saved }, [dy]) {
    const x = need(node, inputs, 0);
    const [normalized, invStd, training] = saved!;
    const shape = [1, -1, ...new Array<number>(Math.max(x.rank - 2, 0)).fill(1)];
    const gamma = tf.reshape(need(node, inputs, 1), shape);
    const sumDy = channelSums(dy!);
    const sumDyXhat = channelSums(tf.mul(dy!, normalized));
    let dx: tf.Tensor;
    if (training.dataSync()[0] === 1) {
      // dx = γ·r/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
      const count = x.size / (x.shape[1] ?? 1);
      const inner = tf.sub(tf.sub(tf.mul(dy!, count), sumDy), tf.mul(normalized, sumDyXhat));
      dx = tf.mul(inner, tf.div(tf.mul(gamma, invStd), count));
    } else {
      dx = tf.mul(dy!, tf.mul(gamma, invStd));
    }
    return [dx, tf.reshape(sumDyXhat, [-1]), tf.reshape(sumDy, [-1]), undefined, undefined];
  },
};
