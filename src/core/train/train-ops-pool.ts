import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { dilateSpatial, type Pair, type SpatialPads } from './conv-train';
import { pads2d, toNchw, toNhwc } from './train-ops-conv';
import { ints, need, num, unsupported, type TrainOp } from './train-op-types';

interface PoolGeometry {
  kernel: Pair;
  strides: Pair;
  /** The node's pads, the end pads grown by what ceil_mode's last window overhangs. */
  pads: SpatialPads;
  /** The node's own pads (what average pooling's count_include_pad counts). */
  declared: SpatialPads;
  out: Pair;
}

/** Output size per PyTorch: floor or ceil, and with ceil_mode no window may start in the end padding. */
function outputSize(size: number, k: number, s: number, [p0, p1]: Pair, ceil: boolean): number {
  const span = size + p0 + p1 - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p0) out -= 1;
  return out;
}

function poolGeometry(node: GraphNode, x: tf.Tensor): PoolGeometry {
  const kernel = ints(node, 'kernel_shape', []) as Pair;
  if (kernel.length !== 2 || x.rank !== 4) throw unsupported(node, 'only 2-D pooling is supported');
  if (ints(node, 'dilations', [1, 1]).some((d) => d !== 1)) throw unsupported(node, 'dilated pooling is not supported in training');
  const strides = ints(node, 'strides', [1, 1]) as Pair;
  const declared = pads2d(node);
  const ceil = num(node, 'ceil_mode', 0) === 1;
  const out = [0, 1].map((a) => outputSize(x.shape[2 + a], kernel[a], strides[a], declared[a], ceil)) as Pair;
  const pads = declared.map(([p0, p1], a) => [p0, Math.max(p1, (out[a] - 1) * strides[a] + kernel[a] - x.shape[2 + a] - p0)]) as SpatialPads;
  return { kernel, strides, pads, declared, out };
}

/** The window element at offset (a, b) of every output position: [N, C, Ho, Wo] views of the padded input. */
function windowTaps(padded: tf.Tensor, g: PoolGeometry): tf.Tensor[] {
  const [n, c] = padded.shape;
  const taps: tf.Tensor[] = [];
  for (let a = 0; a < g.kernel[0]; a++) {
    for (let b = 0; b < g.kernel[1]; b++) {
      const end = [n, c, a + (g.out[0] - 1) * g.strides[0] + 1, b + (g.out[1] - 1) * g.strides[1] + 1];
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
    const spread = toNchw(dilateSpatial(toNhwc(grad), g.strides));
    const placed = tf.pad(spread, [[0, 0], [0, 0], [a, hp - a - spread.shape[2]], [b, wp - b - spread.shape[3]]]);
    total = total === undefined ? placed : tf.add(total, placed);
  });
  return tf.slice(total!, [0, 0, g.pads[0][0], g.pads[1][0]], x.shape);
}

const padSpatial = (x: tf.Tensor, pads: SpatialPads, value: number): tf.Tensor => tf.pad(x, [[0, 0], [0, 0], pads[0], pads[1]], value);

/** MaxPool (padding and ceil_mode); its gradient goes to the first maximum of each window in row-major order, as PyTorch's. */
export const maxPoolOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, x);
    const padded = g.pads.flat().some((p) => p !== 0) ? padSpatial(x, g.pads, -Infinity) : x;
    return { outputs: [toNchw(tf.maxPool(toNhwc(padded), g.kernel, g.strides, 'valid'))] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, x);
    const taps = windowTaps(padSpatial(x, g.pads, -Infinity), g);
    const first = tf.oneHot(tf.argMax(tf.stack(taps), 0), taps.length);
    const masks = tf.unstack(tf.transpose(first, [4, 0, 1, 2, 3]));
    return [scatterTaps(masks.map((m) => tf.mul(m, dy!)), g, x)];
  },
};

/**
 * Each output's divisor, as PyTorch's avg_pool2d: the window clipped to the declared padding
 * (count_include_pad) or to the input, rows times columns, as [1, 1, Ho, Wo].
 */
function divisors(node: GraphNode, g: PoolGeometry, x: tf.Tensor): tf.Tensor {
  const includePad = num(node, 'count_include_pad', 0) === 1;
  const perAxis = [0, 1].map((a) =>
    Array.from({ length: g.out[a] }, (_, i) => {
      const size = x.shape[2 + a];
      const start = i * g.strides[a] - g.declared[a][0];
      const end = Math.min(start + g.kernel[a], size + g.declared[a][1]);
      return includePad ? end - start : Math.min(end, size) - Math.max(start, 0);
    }),
  );
  const map = perAxis[0].flatMap((r) => perAxis[1].map((c) => r * c));
  return tf.tensor(map, [1, 1, g.out[0], g.out[1]]);
}

/** AveragePool with padding, ceil_mode and either count_include_pad. */
export const averagePoolOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, x);
    const padded = g.pads.flat().some((p) => p !== 0) ? padSpatial(x, g.pads, 0) : x;
    const sums = tf.mul(toNchw(tf.avgPool(toNhwc(padded), g.kernel, g.strides, 'valid')), g.kernel[0] * g.kernel[1]);
    return { outputs: [tf.div(sums, divisors(node, g, x))] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const g = poolGeometry(node, x);
    const share = tf.div(dy!, divisors(node, g, x));
    return [scatterTaps(new Array<tf.Tensor>(g.kernel[0] * g.kernel[1]).fill(share), g, x)];
  },
};
