import * as tf from '@tensorflow/tfjs-core';
import type { NativeConvGeometry, NativeKernels } from '../runtime/native';
import type { SpatialPads } from './conv-train';

/** The native geometry of a Conv on NCHW input x and OIHW filter w (ONNX attributes). */
export function nativeConvGeometry(x: tf.Tensor, w: tf.Tensor, strides: [number, number], pads: SpatialPads, group: number, bias: boolean, dilations: [number, number] = [1, 1]): NativeConvGeometry {
  const [n, c, h, wd] = x.shape;
  return {
    input: [n, c, h, wd],
    outChannels: w.shape[0],
    kernel: [w.shape[2]!, w.shape[3]!],
    strides,
    dilations,
    pads: [pads[0][0], pads[1][0], pads[0][1], pads[1][1]],
    groups: group,
    bias,
  };
}

function outputShape(g: NativeConvGeometry): [number, number, number, number] {
  const [n, , h, w] = g.input;
  const span = (k: number, d: number) => (k - 1) * d + 1;
  return [
    n,
    g.outChannels,
    Math.floor((h + g.pads[0] + g.pads[2] - span(g.kernel[0], g.dilations[0])) / g.strides[0]) + 1,
    Math.floor((w + g.pads[1] + g.pads[3] - span(g.kernel[1], g.dilations[1])) / g.strides[1]) + 1,
  ];
}

const f32 = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/** Conv forward on the native kernels: y = conv(x, w) + b, NCHW. The data is copied out of TF.js and back. */
export function nativeConvForward(k: NativeKernels, g: NativeConvGeometry, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined): tf.Tensor {
  return tf.tensor(k.convForward(g, f32(x), f32(w), b ? f32(b) : null), outputShape(g));
}

/** Conv gradients on the native kernels: [dx, dw, db (when the geometry has a bias)]. */
export function nativeConvBackward(k: NativeKernels, g: NativeConvGeometry, x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor | undefined] {
  const dyData = f32(dy);
  const dx = tf.tensor(k.convBackwardData(g, dyData, f32(w)), x.shape);
  const { dw, db } = k.convBackwardWeights(g, f32(x), dyData);
  return [dx, tf.tensor(dw, w.shape), db ? tf.tensor(db, [g.outChannels]) : undefined];
}
