import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { activeNativeKernels } from '../runtime/native/active';
import { nativeConvBackward, nativeConvForward, nativeConvGeometry } from './conv-native';
import { convFilterGrad, convInputGrad, convolve, depthwiseFilterGrad, type ConvGeometry, type Pair, type SpatialPads } from './conv-train';
import { ints, need, num, unsupported, type TrainOp } from './train-op-types';

export const toNhwc = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
export const toNchw = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;

export function pads2d(node: GraphNode): SpatialPads {
  const autoPad = node.attributes.auto_pad;
  if (autoPad !== undefined && autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `auto_pad ${String(autoPad)} is not supported in training`);
  const p = ints(node, 'pads', [0, 0, 0, 0]);
  return [
    [p[0], p[2]],
    [p[1], p[3]],
  ];
}

type Layout = { kind: 'dense' } | { kind: 'depthwise'; multiplier: number } | { kind: 'grouped'; groups: number };

function convGeometry(node: GraphNode, x: tf.Tensor, w: tf.Tensor): ConvGeometry & { layout: Layout } {
  if (x.rank !== 4) throw unsupported(node, 'only 2-D convolutions are supported');
  const group = num(node, 'group', 1);
  const channels = x.shape[1];
  let layout: Layout = { kind: 'dense' };
  if (group > 1) layout = w.shape[1] === 1 && group === channels ? { kind: 'depthwise', multiplier: w.shape[0] / group } : { kind: 'grouped', groups: group };
  return { strides: ints(node, 'strides', [1, 1]) as Pair, pads: pads2d(node), dilations: ints(node, 'dilations', [1, 1]) as Pair, layout };
}

/** ONNX [Co, Ci/g, kh, kw] → HWIO; a depthwise weight [C·m, 1, kh, kw] → [kh, kw, C, m]. */
function filterOf(w: tf.Tensor, depthwiseChannels?: number): tf.Tensor4D {
  if (depthwiseChannels === undefined) return tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  const [cm, , kh, kw] = w.shape;
  return tf.transpose(tf.reshape(w, [depthwiseChannels, cm / depthwiseChannels, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
}

/**
 * Conv (2-D; any strides, pads, dilations and groups): NHWC TF.js convolutions, depthwise
 * convolutions for depthwise layers, one dense convolution per group otherwise. Gradients are
 * forward convolutions (`conv-train.ts`): no backprop kernels.
 */
export const convOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const w = need(node, inputs, 1);
    const g = convGeometry(node, x, w);
    const native = activeNativeKernels();
    if (native) return { outputs: [nativeConvForward(native, nativeConvGeometry(x, w, g.strides, g.pads, num(node, 'group', 1), inputs[2] !== undefined, g.dilations), x, w, inputs[2])] };
    const xh = toNhwc(x);
    let y: tf.Tensor;
    if (g.layout.kind === 'depthwise') {
      y = convolve(xh, filterOf(w, x.shape[1]), g.strides, g.pads, g.dilations, true);
    } else if (g.layout.kind === 'dense') {
      y = convolve(xh, filterOf(w), g.strides, g.pads, g.dilations, false);
    } else {
      const xs = tf.split(xh, g.layout.groups, 3) as tf.Tensor4D[];
      const ws = tf.split(filterOf(w), g.layout.groups, 3) as tf.Tensor4D[];
      y = tf.concat(xs.map((part, i) => convolve(part, ws[i], g.strides, g.pads, g.dilations, false)), 3);
    }
    y = toNchw(y);
    if (inputs[2] !== undefined) y = tf.add(y, tf.reshape(inputs[2], [1, -1, 1, 1]));
    return { outputs: [y] };
  },
  backward(node, inputs, _forward, [dy]) {
    const x = need(node, inputs, 0);
    const w = need(node, inputs, 1);
    const g = convGeometry(node, x, w);
    const native = activeNativeKernels();
    if (native) return nativeConvBackward(native, nativeConvGeometry(x, w, g.strides, g.pads, num(node, 'group', 1), inputs[2] !== undefined, g.dilations), x, w, dy!);
    const kernel = [w.shape[2], w.shape[3]] as Pair;
    const size = [x.shape[2], x.shape[3]] as Pair;
    const xh = toNhwc(x);
    const dyh = toNhwc(dy!);
    const db = inputs[2] === undefined ? undefined : tf.sum(dy!, [0, 2, 3]);
    if (g.layout.kind === 'depthwise') {
      const dx = convInputGrad(dyh, filterOf(w, x.shape[1]), g, size, true);
      const df = depthwiseFilterGrad(xh, dyh, g, kernel, g.layout.multiplier);
      // [kh, kw, C, m] → [C·m, 1, kh, kw]
      return [toNchw(dx), tf.reshape(tf.transpose(df, [2, 3, 0, 1]), w.shape), db];
    }
    const groups = g.layout.kind === 'grouped' ? g.layout.groups : 1;
    const filter = filterOf(w);
    if (groups === 1) {
      return [toNchw(convInputGrad(dyh, filter, g, size)), tf.transpose(convFilterGrad(xh, dyh, g, kernel), [3, 2, 0, 1]), db];
    }
    const xs = tf.split(xh, groups, 3) as tf.Tensor4D[];
    const ws = tf.split(filter, groups, 3) as tf.Tensor4D[];
    const dys = tf.split(dyh, groups, 3) as tf.Tensor4D[];
    const dx = toNchw(tf.concat(dys.map((d, i) => convInputGrad(d, ws[i], g, size)), 3));
    const dw = tf.transpose(tf.concat(dys.map((d, i) => convFilterGrad(xs[i], d, g, kernel)), 3), [3, 2, 0, 1]);
    return [dx, dw, db];
  },
};
