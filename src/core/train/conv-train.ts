import * as tf from '@tensorflow/tfjs-core';

/** Explicit spatial pads: [top, bottom], [left, right]. */
export type SpatialPads = [[number, number], [number, number]];

/**
 * Inserts s−1 zeros between the rows and columns of an NHWC tensor (the stride "dilation" of an
 * output gradient), with 4-D reshapes and pads only.
 */
export function dilateSpatial(t: tf.Tensor4D, strides: [number, number]): tf.Tensor4D {
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

/** Convolution with pads that may be negative (a negative pad crops instead). */
function convCropping(x: tf.Tensor4D, f: tf.Tensor4D, pads: SpatialPads): tf.Tensor4D {
  const positive: tf.backend_util.ExplicitPadding = [[0, 0], [Math.max(pads[0][0], 0), Math.max(pads[0][1], 0)], [Math.max(pads[1][0], 0), Math.max(pads[1][1], 0)], [0, 0]];
  const y = tf.conv2d(x, f, 1, positive);
  const crop = [Math.max(-pads[0][0], 0), Math.max(-pads[0][1], 0), Math.max(-pads[1][0], 0), Math.max(-pads[1][1], 0)];
  if (crop.every((c) => c === 0)) return y;
  const [n, h, w, c] = y.shape;
  return tf.slice(y, [0, crop[0], crop[2], 0], [n, h - crop[0] - crop[1], w - crop[2] - crop[3], c]);
}

/**
 * Gradients of a dense 2-D convolution (NHWC input, HWIO filter, dilation 1) as forward
 * convolutions, so that backends without Conv2DBackpropFilter/Input kernels (TF.js wasm) train.
 * The filter gradient convolves the input, batch and channels swapped, with the output gradient
 * as the filter, dilated by the stride.
 */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, strides: [number, number], pads: SpatialPads, kernel: [number, number]): tf.Tensor4D {
  const explicit: tf.backend_util.ExplicitPadding = [[0, 0], pads[0], pads[1], [0, 0]];
  const byChannel = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  // [Ci, H, W, N] ⊛ [Ho, Wo, N, Co] (dilated by the stride) → [Ci, ≥kh, ≥kw, Co].
  const full = tf.conv2d(byChannel, dyFilter, 1, explicit, 'NHWC', strides);
  const cropped = tf.slice(full, [0, 0, 0, 0], [full.shape[0], kernel[0], kernel[1], full.shape[3]]);
  return tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D;
}

/** The input gradient: the stride-dilated output gradient convolved with the filter flipped in space, in/out channels swapped. */
export function convInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, strides: [number, number], pads: SpatialPads, inputSize: [number, number]): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const [, ho, wo] = dy.shape;
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const rows = (ho - 1) * strides[0] + 1;
  const cols = (wo - 1) * strides[1] + 1;
  return convCropping(dilateSpatial(dy, strides), flipped, [
    [kh - 1 - pads[0][0], inputSize[0] - rows + pads[0][0]],
    [kw - 1 - pads[1][0], inputSize[1] - cols + pads[1][0]],
  ]);
}
