import * as tf from '@tensorflow/tfjs-core';

/** Explicit spatial pads: [top, bottom], [left, right]. */
export type SpatialPads = [[number, number], [number, number]];
export type Pair = [number, number];

const ones = (p: Pair): boolean => p[0] === 1 && p[1] === 1;
const explicit = (pads: SpatialPads): tf.backend_util.ExplicitPadding => [[0, 0], pads[0], pads[1], [0, 0]];

/**
 * Inserts s−1 zeros between the rows and columns of an NHWC tensor (the stride "dilation" of an
 * output gradient), with 4-D reshapes and pads only.
 */
export function dilateSpatial(t: tf.Tensor4D, strides: Pair): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return t;
  let y: tf.Tensor = tf.reshape(t, [n * h, w, 1, c]);
  y = tf.pad(y, [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
  y = tf.reshape(y, [n, h, 1, w * sw * c]);
  y = tf.pad(y, [[0, 0], [0, 0], [0, sh - 1], [0, 0]]);
  y = tf.reshape(y, [n, h * sh, w * sw, c]);
  return tf.slice(y, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}

/**
 * A dense (`depthwise` false, HWIO filter) or depthwise ([kh, kw, C, m] filter) convolution with
 * any strides and dilations: TF.js takes only one of the two above 1 at a time, so with both the
 * stride-1 result is subsampled.
 */
export function convolve(x: tf.Tensor4D, f: tf.Tensor4D, strides: Pair, pads: SpatialPads, dilations: Pair, depthwise: boolean): tf.Tensor4D {
  const both = !ones(strides) && !ones(dilations);
  const pad = explicit(pads);
  const step: Pair = both ? [1, 1] : strides;
  const y = depthwise ? tf.depthwiseConv2d(x, f, step, pad, 'NHWC', dilations) : tf.conv2d(x, f, step, pad, 'NHWC', dilations);
  if (!both) return y;
  return tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, strides[0], strides[1], 1]) as tf.Tensor4D;
}

/** Convolution with pads that may be negative (a negative pad crops instead). */
function convCropping(x: tf.Tensor4D, f: tf.Tensor4D, pads: SpatialPads, dilations: Pair, depthwise: boolean): tf.Tensor4D {
  const positive: SpatialPads = [
    [Math.max(pads[0][0], 0), Math.max(pads[0][1], 0)],
    [Math.max(pads[1][0], 0), Math.max(pads[1][1], 0)],
  ];
  const y = convolve(x, f, [1, 1], positive, dilations, depthwise);
  const crop = [Math.max(-pads[0][0], 0), Math.max(-pads[0][1], 0), Math.max(-pads[1][0], 0), Math.max(-pads[1][1], 0)];
  if (crop.every((c) => c === 0)) return y;
  const [n, h, w, c] = y.shape;
  return tf.slice(y, [0, crop[0], crop[2], 0], [n, h - crop[0] - crop[1], w - crop[2] - crop[3], c]);
}

export interface ConvGeometry {
  strides: Pair;
  pads: SpatialPads;
  dilations: Pair;
}

/**
 * Gradient of a dense convolution's HWIO filter (NHWC input), as forward convolutions so that
 * backends without Conv2DBackpropFilter (TF.js wasm) train: the input, batch and channels swapped,
 * convolved with the output gradient as the filter, dilated by the stride and strided by the dilation.
 */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry, kernel: Pair): tf.Tensor4D {
  if (!ones(g.strides) && !ones(g.dilations)) return tapFilterGrad(x, dy, g, kernel, false);
  const byChannel = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  // [Ci, H, W, N] ⊛ [Ho, Wo, N, Co] → [Ci, ≥kh, ≥kw, Co].
  const full = tf.conv2d(byChannel, dyFilter, g.dilations, explicit(g.pads), 'NHWC', g.strides);
  const cropped = tf.slice(full, [0, 0, 0, 0], [full.shape[0], kernel[0], kernel[1], full.shape[3]]);
  return tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * Gradient of a depthwise filter [kh, kw, C, m] (output channel c·m + j reads input channel c):
 * batch folded into channels, one depthwise convolution with the output gradient as the filter.
 */
export function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry, kernel: Pair, multiplier: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const xm = multiplier === 1 ? x : (tf.reshape(tf.tile(tf.reshape(x, [n, h, w, c, 1]), [1, 1, 1, 1, multiplier]), [n, h, w, c * multiplier]) as tf.Tensor4D);
  if (!ones(g.strides) && !ones(g.dilations)) return tf.reshape(tapFilterGrad(xm, dy, g, kernel, true), [kernel[0], kernel[1], c, multiplier]);
  const [, ho, wo, cm] = dy.shape;
  const input = tf.reshape(tf.transpose(xm, [1, 2, 0, 3]), [1, h, w, n * cm]) as tf.Tensor4D;
  const filter = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * cm, 1]) as tf.Tensor4D;
  const full = tf.depthwiseConv2d(input, filter, g.dilations, explicit(g.pads), 'NHWC', g.strides);
  const cropped = tf.slice(full, [0, 0, 0, 0], [1, kernel[0], kernel[1], n * cm]);
  return tf.reshape(tf.sum(tf.reshape(cropped, [kernel[0], kernel[1], n, cm]), 2), [kernel[0], kernel[1], c, multiplier]) as tf.Tensor4D;
}

/**
 * Filter gradient tap by tap (strides and dilations both above 1, which one TF.js convolution cannot
 * express): each tap is the input's strided window view contracted with the output gradient.
 * Returns [kh, kw, Ci, Co], or [kh, kw, C] for a depthwise filter (per-channel products).
 */
function tapFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry, kernel: Pair, depthwise: boolean): tf.Tensor4D {
  const padded = tf.pad(x, explicit(g.pads));
  const [n, ho, wo, co] = dy.shape;
  const ci = x.shape[3];
  const flatDy = tf.reshape(dy, [n * ho * wo, co]);
  const taps: tf.Tensor[] = [];
  for (let a = 0; a < kernel[0]; a++) {
    for (let b = 0; b < kernel[1]; b++) {
      const begin = [0, a * g.dilations[0], b * g.dilations[1], 0];
      const end = [n, begin[1] + (ho - 1) * g.strides[0] + 1, begin[2] + (wo - 1) * g.strides[1] + 1, ci];
      const view = tf.reshape(tf.stridedSlice(padded, begin, end, [1, g.strides[0], g.strides[1], 1]), [n * ho * wo, ci]);
      taps.push(depthwise ? tf.sum(tf.mul(view, flatDy), 0) : tf.matMul(view, flatDy, true, false));
    }
  }
  return tf.reshape(tf.stack(taps), depthwise ? [kernel[0], kernel[1], ci, 1] : [kernel[0], kernel[1], ci, co]) as tf.Tensor4D;
}

/**
 * The input gradient: the stride-dilated output gradient convolved with the filter flipped in space
 * (dilated like the forward's), in/out channels swapped; depthwise filters sum over the multiplier.
 */
export function convInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry, inputSize: Pair, depthwise = false): tf.Tensor4D {
  const [kh, kw, c, m] = filter.shape;
  const [n, ho, wo] = dy.shape;
  const span: Pair = [(kh - 1) * g.dilations[0] + 1, (kw - 1) * g.dilations[1] + 1];
  const reversed = tf.reverse(filter, [0, 1]);
  const flipped = (depthwise ? tf.reshape(reversed, [kh, kw, c * m, 1]) : tf.transpose(reversed, [0, 1, 3, 2])) as tf.Tensor4D;
  const rows = (ho - 1) * g.strides[0] + 1;
  const cols = (wo - 1) * g.strides[1] + 1;
  const dx = convCropping(
    dilateSpatial(dy, g.strides),
    flipped,
    [
      [span[0] - 1 - g.pads[0][0], inputSize[0] - rows + g.pads[0][0]],
      [span[1] - 1 - g.pads[1][0], inputSize[1] - cols + g.pads[1][0]],
    ],
    g.dilations,
    depthwise,
  );
  if (!depthwise || m === 1) return dx;
  return tf.sum(tf.reshape(dx, [n, inputSize[0], inputSize[1], c, m]), 4) as tf.Tensor4D;
}
