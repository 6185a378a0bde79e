import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../../errors';
import {
  intsAttr,
  isTensorValue,
  numAttr,
  plain,
  requireInput,
  strAttr,
  tensorValue,
  toNhwc,
  unsupported,
  type CompiledNode,
  type Kernel,
  type KernelContext,
} from './values';

export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'sigmoid';

/**
 * A Conv's weights in TF.js layout, made once: HWIO for dense convs, [kh, kw, C, multiplier] for
 * depthwise ones, and for other grouped convs either a block-diagonal dense filter or one filter
 * per group (when the dense filter would be large).
 */
export interface PreparedConv {
  kind: 'dense' | 'depthwise' | 'split';
  filters: tf.Tensor4D[];
  biases: (tf.Tensor1D | undefined)[];
  activation: FusedActivation;
  leakyreluAlpha?: number;
}

/** Dense filters above this many elements are not built for grouped convs (one conv per group instead). */
const MAX_BLOCK_DIAGONAL_ELEMENTS = 4 * 1024 * 1024;

/** Converts an OIHW weight (and bias) for `group` groups. Call inside tf.tidy and keep the result. */
export function prepareConvWeights(
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  group: number,
  activation: FusedActivation = 'linear',
  leakyreluAlpha?: number,
): PreparedConv {
  if (weight.rank !== 4) throw new CoreError('GRAPH_UNKNOWN_OP', `only 2-D convolutions are supported (weight shape [${weight.shape.join(', ')}])`);
  const [cout, cinPerGroup, kh, kw] = weight.shape;
  const w = weight.dtype === 'float32' ? weight : tf.cast(weight, 'float32');
  const b = bias === undefined ? undefined : (tf.reshape(tf.cast(bias, 'float32'), [cout]) as tf.Tensor1D);
  const base = { activation, leakyreluAlpha };
  if (group === 1) {
    return { ...base, kind: 'dense', filters: [tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D], biases: [b] };
  }
  if (cout % group !== 0) throw new CoreError('GRAPH_INVALID', `conv output channels ${cout} are not divisible by group ${group}`);
  const coutPerGroup = cout / group;
  if (cinPerGroup === 1) {
    // Depthwise (with channel multiplier): output channel c·m + j reads input channel c.
    const filter = tf.transpose(tf.reshape(w, [group, coutPerGroup, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
    return { ...base, kind: 'depthwise', filters: [filter], biases: [b] };
  }
  const cin = cinPerGroup * group;
  const perGroup = tf.split(w, group, 0);
  if (cout * cin * kh * kw <= MAX_BLOCK_DIAGONAL_ELEMENTS) {
    const blocks = perGroup.map((g, i) => tf.pad(g, [[0, 0], [i * cinPerGroup, cin - (i + 1) * cinPerGroup], [0, 0], [0, 0]]));
    const dense = tf.transpose(tf.concat(blocks, 0), [2, 3, 1, 0]) as tf.Tensor4D;
    return { ...base, kind: 'dense', filters: [dense], biases: [b] };
  }
  const biases = b === undefined ? perGroup.map(() => undefined) : (tf.split(b, group, 0) as tf.Tensor1D[]);
  return { ...base, kind: 'split', filters: perGroup.map((g) => tf.transpose(g, [2, 3, 1, 0]) as tf.Tensor4D), biases };
}

export function preparedTensors(p: PreparedConv): tf.Tensor[] {
  return [...p.filters, ...p.biases.filter((b): b is tf.Tensor1D => b !== undefined)];
}

/** Begin/end pads per spatial axis from ONNX `pads` or `auto_pad`. */
export function spatialPads(
  node: CompiledNode,
  inSize: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
): { begin: number[]; end: number[] } {
  const autoPad = strAttr(node, 'auto_pad', 'NOTSET');
  const rank = inSize.length;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < rank; i++) {
      const out = Math.ceil(inSize[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSize[i]);
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(autoPad === 'SAME_UPPER' ? total - small : small);
    }
    return { begin, end };
  }
  if (autoPad === 'VALID') return { begin: new Array<number>(rank).fill(0), end: new Array<number>(rank).fill(0) };
  const pads = intsAttr(node, 'pads', new Array<number>(2 * rank).fill(0));
  return { begin: pads.slice(0, rank), end: pads.slice(rank) };
}

function runConv(x: tf.Tensor4D, p: PreparedConv, index: number, strides: [number, number], pad: number[][], dilations: [number, number]): tf.Tensor4D {
  const args = {
    x,
    filter: p.filters[index],
    strides,
    dilations,
    bias: p.biases[index],
    activation: p.activation,
    leakyreluAlpha: p.leakyreluAlpha,
  };
  const symmetric = pad[1][0] === pad[1][1] && pad[2][0] === pad[2][1] && pad[1][0] === pad[2][0];
  if (p.kind === 'depthwise') {
    // The fused depthwise op is typed for numeric pads only; its kernels read explicit pads as conv2d does.
    const explicit = (symmetric ? pad[1][0] : pad) as unknown as number;
    return tf.fused.depthwiseConv2d({ ...args, pad: explicit });
  }
  return tf.fused.conv2d({ ...args, pad: symmetric ? pad[1][0] : (pad as tf.backend_util.ExplicitPadding) });
}

export const convKernel: Kernel = (ctx, node, inputs) => {
  const x = requireInput(inputs[0], `input X of ${node.name}`);
  const prepared = (node.prepared as PreparedConv | undefined) ?? prepareDynamic(ctx, node, inputs);
  const xs = toNhwc(ctx, x) as tf.Tensor4D;
  const [, h, w] = xs.shape;
  const k = [prepared.filters[0].shape[0], prepared.filters[0].shape[1]];
  const strides = intsAttr(node, 'strides', [1, 1]) as [number, number];
  const dilations = intsAttr(node, 'dilations', [1, 1]) as [number, number];
  const { begin, end } = spatialPads(node, [h, w], k, strides, dilations);
  const pad = [[0, 0], [begin[0], end[0]], [begin[1], end[1]], [0, 0]];
  // TF.js rejects strides > 1 together with dilations > 1: convolve densely, then subsample.
  const subsample = strides.some((s) => s > 1) && dilations.some((d) => d > 1);
  const step: [number, number] = subsample ? [1, 1] : strides;
  const one = (input: tf.Tensor4D, i: number): tf.Tensor4D => {
    const y = runConv(input, prepared, i, step, pad, dilations);
    if (!subsample) return y;
    return tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, strides[0], strides[1], 1]) as tf.Tensor4D;
  };
  if (prepared.kind !== 'split') return [tensorValue(one(xs, 0), 'F32', true)];
  const parts = tf.split(xs, prepared.filters.length, 3) as tf.Tensor4D[];
  return [tensorValue(tf.concat(parts.map((part, i) => one(part, i)), 3), 'F32', true)];
};

/** A conv whose weight is computed at run time: prepared per call. */
function prepareDynamic(ctx: KernelContext, node: CompiledNode, inputs: Parameters<Kernel>[2]): PreparedConv {
  const weight = plain(ctx, requireInput(inputs[1], `weight of ${node.name}`));
  const bias = inputs[2] === undefined ? undefined : plain(ctx, inputs[2]);
  return prepareConvWeights(weight, bias, numAttr(node, 'group', 1));
}

interface PoolGeometry {
  kernel: [number, number];
  strides: [number, number];
  begin: number[];
  /** End pads, grown so that valid pooling yields PyTorch's ceil_mode output size. */
  end: number[];
  out: number[];
  padded: boolean;
}

/** PyTorch/ONNX pooling geometry, including ceil_mode's rule that no window starts in the end padding. */
function poolGeometry(node: CompiledNode, h: number, w: number): PoolGeometry {
  const kernel = intsAttr(node, 'kernel_shape', []) as [number, number];
  if (kernel.length !== 2) throw unsupported(node, 'only 2-D pooling is supported');
  const strides = intsAttr(node, 'strides', [1, 1]) as [number, number];
  const dilations = intsAttr(node, 'dilations', [1, 1]);
  if (dilations.some((d) => d !== 1)) throw unsupported(node, 'dilated pooling is not supported');
  const ceil = numAttr(node, 'ceil_mode', 0) === 1;
  const { begin, end } = spatialPads(node, [h, w], kernel, strides, [1, 1]);
  const size = [h, w];
  const out = size.map((n, i) => {
    const span = n + begin[i] + end[i] - kernel[i];
    let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
    if (ceil && (o - 1) * strides[i] >= n + begin[i]) o--;
    return o;
  });
  const grownEnd = size.map((n, i) => Math.max(end[i], (out[i] - 1) * strides[i] + kernel[i] - n - begin[i]));
  const padded = begin.some((b) => b > 0) || grownEnd.some((e) => e > 0);
  return { kernel, strides, begin, end: grownEnd, out, padded };
}

function padSpatial(x: tf.Tensor4D, g: PoolGeometry, value: number): tf.Tensor4D {
  if (!g.padded) return x;
  return tf.pad(x, [[0, 0], [g.begin[0], g.end[0]], [g.begin[1], g.end[1]], [0, 0]], value);
}

const maxPoolKernel: Kernel = (ctx, node, inputs) => {
  if (node.outputs.length > 1 && node.outputs[1] !== '') throw unsupported(node, 'the Indices output is not supported');
  const xs = toNhwc(ctx, requireInput(inputs[0], `input of ${node.name}`)) as tf.Tensor4D;
  const g = poolGeometry(node, xs.shape[1], xs.shape[2]);
  // Backends skip padded positions in max pooling; the grown end pads give ceil_mode's size.
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [g.begin[0], g.end[0]], [g.begin[1], g.end[1]], [0, 0]];
  const y = tf.maxPool(xs, g.kernel, g.strides, g.padded ? pad : 'valid');
  return [tensorValue(y, 'F32', true)];
};

const averagePoolKernel: Kernel = (ctx, node, inputs) => {
  const xs = toNhwc(ctx, requireInput(inputs[0], `input of ${node.name}`)) as tf.Tensor4D;
  const [, h, w] = xs.shape;
  const g = poolGeometry(node, h, w);
  const mean = tf.avgPool(padSpatial(xs, g, 0), g.kernel, g.strides, 'valid');
  if (!g.padded) return [tensorValue(mean, 'F32', true)];
  // Windows overlapping padding divide by the count PyTorch uses, not by kh·kw.
  const includePad = numAttr(node, 'count_include_pad', 0) === 1;
  const { begin, end: requested } = spatialPads(node, [h, w], g.kernel, g.strides, [1, 1]);
  const scale = ctx.cached(`${node.name}:divisor`, () => {
    const counts = [h, w].map((n, i) =>
      Array.from({ length: g.out[i] }, (_, o) => {
        const start = o * g.strides[i] - begin[i];
        const stop = Math.min(start + g.kernel[i], n + requested[i]);
        return includePad ? stop - start : Math.min(stop, n) - Math.max(start, 0);
      }),
    );
    const values = new Float32Array(g.out[0] * g.out[1]);
    const area = g.kernel[0] * g.kernel[1];
    for (let i = 0; i < g.out[0]; i++) for (let j = 0; j < g.out[1]; j++) values[i * g.out[1] + j] = area / (counts[0][i] * counts[1][j]);
    return tf.tensor4d(values, [1, g.out[0], g.out[1], 1]);
  });
  return [tensorValue(tf.mul(mean, scale), 'F32', true)];
};

function globalPool(reduce: (t: tf.Tensor, axes: number[]) => tf.Tensor): Kernel {
  return (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    if (isTensorValue(x) && x.nhwc) return [tensorValue(reduce(x.tensor, [1, 2]), x.dtype, true)];
    const t = plain(ctx, x);
    const axes = Array.from({ length: t.rank - 2 }, (_, i) => i + 2);
    return [tensorValue(reduce(t, axes), x.dtype)];
  };
}

export const CONV_KERNELS: Record<string, Kernel> = {
  Conv: convKernel,
  MaxPool: maxPoolKernel,
  AveragePool: averagePoolKernel,
  GlobalAveragePool: globalPool((t, axes) => tf.mean(t, axes, true)),
  GlobalMaxPool: globalPool((t, axes) => tf.max(t, axes, true)),
};
