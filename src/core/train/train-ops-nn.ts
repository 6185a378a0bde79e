import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { activeNativeKernels } from '../runtime/native/active';
import { nativeConvBackward, nativeConvForward, nativeConvGeometry } from './conv-native';
import { convFilterGrad, convInputGrad, dilateSpatial, type SpatialPads } from './conv-train';
import { ints, need, num, unsupported, type TrainOp } from './train-op-types';

const toNhwc = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
const toNchw = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;

function pads2d(node: GraphNode): SpatialPads {
  const autoPad = node.attributes.auto_pad;
  if (autoPad !== undefined && autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `auto_pad ${String(autoPad)} is not supported in training`);
  const p = ints(node, 'pads', [0, 0, 0, 0]);
  return [
    [p[0], p[2]],
    [p[1], p[3]],
  ];
}

function convGeometry(node: GraphNode, x: tf.Tensor) {
  if (x.rank !== 4) throw unsupported(node, 'only 2-D convolutions are supported');
  if (ints(node, 'dilations', [1, 1]).some((d) => d !== 1)) throw unsupported(node, 'dilated convolutions are not supported in training yet');
  return { strides: ints(node, 'strides', [1, 1]) as [number, number], pads: pads2d(node), group: num(node, 'group', 1) };
}

/** Conv: NHWC TF.js convolutions, one dense conv per group; gradients as forward convolutions. */
export const convOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const { strides, pads, group } = convGeometry(node, x);
    const native = activeNativeKernels();
    if (native) return { outputs: [nativeConvForward(native, nativeConvGeometry(x, need(node, inputs, 1), strides, pads, group, inputs[2] !== undefined), x, need(node, inputs, 1), inputs[2])] };
    const explicit: tf.backend_util.ExplicitPadding = [[0, 0], pads[0], pads[1], [0, 0]];
    const xs = tf.split(toNhwc(x), group, 3) as tf.Tensor4D[];
    const ws = tf.split(tf.transpose(need(node, inputs, 1), [2, 3, 1, 0]), group, 3) as tf.Tensor4D[];
    let y: tf.Tensor = toNchw(tf.concat(xs.map((part, i) => tf.conv2d(part, ws[i], strides, explicit)), 3));
    if (inputs[2] !== undefined) y = tf.add(y, tf.reshape(inputs[2], [1, -1, 1, 1]));
    return { outputs: [y] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const w = need(node, inputs, 1);
    const { strides, pads, group } = convGeometry(node, x);
    const native = activeNativeKernels();
    if (native) return nativeConvBackward(native, nativeConvGeometry(x, w, strides, pads, group, inputs[2] !== undefined), x, w, dy!);
    const xs = tf.split(toNhwc(x), group, 3) as tf.Tensor4D[];
    const ws = tf.split(tf.transpose(w, [2, 3, 1, 0]), group, 3) as tf.Tensor4D[];
    const dys = tf.split(toNhwc(dy!), group, 3) as tf.Tensor4D[];
    const kernel = [w.shape[2], w.shape[3]] as [number, number];
    const size = [x.shape[2], x.shape[3]] as [number, number];
    const dx = toNchw(tf.concat(dys.map((d, i) => convInputGrad(d, ws[i], strides, pads, size)), 3));
    const dw = tf.transpose(tf.concat(dys.map((d, i) => convFilterGrad(xs[i], d, strides, pads, kernel)), 3), [3, 2, 0, 1]);
    return [dx, dw, inputs[2] === undefined ? undefined : tf.sum(dy!, [0, 2, 3])];
  },
};

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

interface PoolGeometry {
  kernel: [number, number];
  strides: [number, number];
  pads: SpatialPads;
}

function poolGeometry(node: GraphNode, kind: 'max' | 'avg'): PoolGeometry {
  const kernel = ints(node, 'kernel_shape', []) as [number, number];
  if (kernel.length !== 2) throw unsupported(node, 'only 2-D pooling is supported');
  if (num(node, 'ceil_mode', 0) !== 0) throw unsupported(node, 'ceil_mode is not supported in training yet');
  if (ints(node, 'dilations', [1, 1]).some((d) => d !== 1)) throw unsupported(node, 'dilated pooling is not supported');
  const pads = pads2d(node);
  if (kind === 'avg' && pads.flat().some((p) => p !== 0)) throw unsupported(node, 'padded average pooling is not supported in training yet');
  return { kernel, strides: ints(node, 'strides', [1, 1]) as [number, number], pads };
}

/** The window element at offset (a, b) of every output position: [N, C, Ho, Wo] views of the padded input. */
function windowTaps(padded: tf.Tensor, g: PoolGeometry, out: [number, number]): tf.Tensor[] {
  const [n, c] = padded.shape;
  const taps: tf.Tensor[] = [];
  for (let a = 0; a < g.kernel[0]; a++) {
    for (let b = 0; b < g.kernel[1]; b++) {
      const end = [n, c, a + (out[0] - 1) * g.strides[0] + 1, b + (out[1] - 1) * g.strides[1] + 1];
      taps.push(tf.stridedSlice(padded, [0, 0, a, b], end, [1, 1, g.strides[0], g.strides[1]]));
    }
  }
  return taps;
}

/** Adds per-tap gradients [N, C, Ho, Wo] back onto the (padded) input grid, then removes the padding. */
function scatterTaps(grads: tf.Tensor[], g: PoolGeometry, x: tf.Tensor): tf.Tensor {
  const [, , h, w] = x.shape;
  const hp = h + g.pads[0][0] + g.pads[0][1];
  const wp = w + g.pads[1][0] + g.pads[1][1];
  let total: tf.Tensor | undefined;
  grads.forEach((grad, i) => {
    const a = Math.floor(i / g.kernel[1]);
    const b = i % g.kernel[1];
    const spread = toNchw(dilateSpatial(toNhwc(grad) as tf.Tensor4D, g.strides));
    const placed = tf.pad(spread, [[0, 0], [0, 0], [a, hp - a - spread.shape[2]], [b, wp - b - spread.shape[3]]]);
    total = total === undefined ? placed : tf.add(total, placed);
  });
  return tf.slice(total!, [0, 0, g.pads[0][0], g.pads[1][0]], x.shape);
}

function poolOutput(x: tf.Tensor, g: PoolGeometry): [number, number] {
  const [, , h, w] = x.shape;
  return [
    Math.floor((h + g.pads[0][0] + g.pads[0][1] - g.kernel[0]) / g.strides[0]) + 1,
    Math.floor((w + g.pads[1][0] + g.pads[1][1] - g.kernel[1]) / g.strides[1]) + 1,
  ];
}

/** MaxPool; its gradient goes to the first maximum of each window in row-major order, as PyTorch's. */
export const maxPoolOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, 'max');
    const explicit = [[0, 0], g.pads[0], g.pads[1], [0, 0]] as unknown as number;
    const padded = g.pads.flat().some((p) => p !== 0);
    return { outputs: [toNchw(tf.maxPool(toNhwc(x), g.kernel, g.strides, padded ? explicit : 'valid'))] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, 'max');
    const padded = tf.pad(x, [[0, 0], [0, 0], g.pads[0], g.pads[1]], -Infinity);
    const taps = windowTaps(padded, g, poolOutput(x, g));
    const first = tf.oneHot(tf.argMax(tf.stack(taps), 0), taps.length);
    const masks = tf.unstack(tf.transpose(first, [4, 0, 1, 2, 3]));
    return [scatterTaps(masks.map((m) => tf.mul(m, dy!)), g, x)];
  },
};

export const averagePoolOp: TrainOp = {
  forward(node, inputs) {
    const g = poolGeometry(node, 'avg');
    return { outputs: [toNchw(tf.avgPool(toNhwc(need(node, inputs, 0)), g.kernel, g.strides, 'valid'))] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, 'avg');
    const share = tf.div(dy!, g.kernel[0] * g.kernel[1]);
    return [scatterTaps(new Array<tf.Tensor>(g.kernel[0] * g.kernel[1]).fill(share), g, x)];
  },
};
