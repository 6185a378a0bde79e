import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { normalizeAxis, reshapeTarget, resolveSlice, squeezeShape, unsqueezeShape } from '../runtime/shape-utils';
import { unbroadcast } from './train-ops-math';
import { ints, intsOf, need, num, unsupported, type TrainOp } from './train-op-types';

/** Ops that only rearrange their first input: the gradient is reshaped back. */
function reshaping(shapeOf: (node: GraphNode, x: tf.Tensor, inputs: (tf.Tensor | undefined)[]) => number[]): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [tf.reshape(need(node, inputs, 0), shapeOf(node, need(node, inputs, 0), inputs))] }),
    backward: (node, inputs, _f, [dy]) => [tf.reshape(dy!, need(node, inputs, 0).shape), undefined],
  };
}

/**
 * Inserts step−1 zeros between the elements of `axis` (the adjoint of taking every step-th
 * element), with reshapes and a pad only.
 */
export function spreadAxis(t: tf.Tensor, axis: number, step: number): tf.Tensor {
  if (step === 1) return t;
  const outer = t.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const count = t.shape[axis];
  const inner = t.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  let y: tf.Tensor = tf.pad(tf.reshape(t, [outer, count, 1, inner]), [[0, 0], [0, 0], [0, step - 1], [0, 0]]);
  y = tf.slice(tf.reshape(y, [outer, count * step, inner]), [0, 0, 0], [outer, (count - 1) * step + 1, inner]);
  return tf.reshape(y, [...t.shape.slice(0, axis), (count - 1) * step + 1, ...t.shape.slice(axis + 1)]);
}

function sliceSpec(node: GraphNode, inputs: (tf.Tensor | undefined)[], shape: number[]) {
  const starts = intsOf(node, inputs, 1, 'starts') ?? [];
  const ends = intsOf(node, inputs, 2, 'ends') ?? [];
  return resolveSlice(shape, starts, ends, intsOf(node, inputs, 3, 'axes'), intsOf(node, inputs, 4, 'steps'));
}

/** Slice (steps of any sign); its gradient is the output gradient spread and padded back into place. */
const sliceOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    let t = x;
    const begin = new Array<number>(x.rank).fill(0);
    const end = [...x.shape];
    const strides = new Array<number>(x.rank).fill(1);
    for (const s of sliceSpec(node, inputs, x.shape)) {
      // A negative step is a positive-step slice of the flipped axis.
      if (s.step < 0) t = tf.reverse(t, s.axis);
      const from = s.step > 0 ? s.start : x.shape[s.axis] - 1 - s.start;
      begin[s.axis] = from;
      end[s.axis] = from + Math.max(s.count - 1, 0) * Math.abs(s.step) + (s.count > 0 ? 1 : 0);
      strides[s.axis] = Math.abs(s.step);
    }
    return { outputs: [tf.stridedSlice(t, begin, end, strides)] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    let g = dy!;
    const spec = sliceSpec(node, inputs, x.shape);
    for (const s of spec) {
      if (s.count === 0) return [tf.zerosLike(x), undefined, undefined, undefined, undefined];
      const from = s.step > 0 ? s.start : x.shape[s.axis] - 1 - s.start;
      g = spreadAxis(g, s.axis, Math.abs(s.step));
      const paddings = g.shape.map(() => [0, 0] as [number, number]);
      paddings[s.axis] = [from, x.shape[s.axis] - from - g.shape[s.axis]];
      g = tf.pad(g, paddings);
      if (s.step < 0) g = tf.reverse(g, s.axis);
    }
    return [g, undefined, undefined, undefined, undefined];
  },
};

function splitSizes(node: GraphNode, inputs: (tf.Tensor | undefined)[], dim: number): number[] {
  const given = intsOf(node, inputs, 1, 'split');
  if (given !== undefined && given.length > 0) return given;
  const count = node.outputs.length;
  const chunk = Math.ceil(dim / count);
  return Array.from({ length: count }, (_, i) => Math.min(chunk, dim - i * chunk));
}

const splitOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const axis = normalizeAxis(num(node, 'axis', 0), x.rank);
    return { outputs: tf.split(x, splitSizes(node, inputs, x.shape[axis]), axis) };
  },
  backward(node, inputs, { outputs }, dys) {
    const x = need(node, inputs, 0);
    const axis = normalizeAxis(num(node, 'axis', 0), x.rank);
    return [tf.concat(outputs.map((o, i) => dys[i] ?? tf.zerosLike(o)), axis), undefined];
  },
};

const concatOp: TrainOp = {
  forward(node, inputs) {
    const parts = inputs.map((_, i) => need(node, inputs, i));
    return { outputs: [tf.concat(parts, normalizeAxis(num(node, 'axis', 0), parts[0].rank))] };
  },
  backward(node, inputs, _f, [dy]) {
    const parts = inputs.map((_, i) => need(node, inputs, i));
    const axis = normalizeAxis(num(node, 'axis', 0), parts[0].rank);
    const grads = tf.split(dy!, parts.map((p) => p.shape[axis]), axis);
    return grads.map((g, i) => (parts[i].dtype === 'float32' ? g : undefined));
  },
};

const transposeOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    return { outputs: [tf.transpose(x, ints(node, 'perm', x.shape.map((_, i) => x.rank - 1 - i)))] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    const perm = ints(node, 'perm', x.shape.map((_, i) => x.rank - 1 - i));
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [tf.transpose(dy!, inverse)];
  },
};

/** Gather along an axis (negative indices count from the end); the gradient scatters back with a one-hot matrix product (repeated indices add). */
const gatherOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const axis = normalizeAxis(num(node, 'axis', 0), x.rank);
    const dim = x.shape[axis];
    // Indices are constants or shape arithmetic: normalized on the host.
    const indices = tf.tensor1d(Array.from(idx.dataSync(), (i) => (i < 0 ? i + dim : i)), 'int32');
    const y = tf.gather(x, indices, axis);
    return { outputs: [tf.reshape(y, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)])], saved: [indices] };
  },
  backward(node, inputs, { saved }, [dy]) {
    const x = need(node, inputs, 0);
    if (x.dtype !== 'float32') return [undefined, undefined];
    const axis = normalizeAxis(num(node, 'axis', 0), x.rank);
    const indices = saved![0];
    const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const k = indices.size;
    const g = tf.reshape(tf.transpose(tf.reshape(dy!, [outer, k, inner]), [1, 0, 2]), [k, outer * inner]);
    const scattered = tf.matMul(tf.oneHot(indices, x.shape[axis]), g, true, false);
    return [tf.reshape(tf.transpose(tf.reshape(scattered, [x.shape[axis], outer, inner]), [1, 0, 2]), x.shape), undefined];
  },
};

const expandOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const target = intsOf(node, inputs, 1, 'shape') ?? [];
    const rank = Math.max(x.rank, target.length);
    const lifted = [...new Array<number>(rank - x.rank).fill(1), ...x.shape];
    const padded = [...new Array<number>(rank - target.length).fill(1), ...target];
    const shape = lifted.map((d, i) => (d === 1 ? padded[i] : d));
    return { outputs: [tf.broadcastTo(tf.reshape(x, lifted), shape)] };
  },
  backward: (node, inputs, _f, [dy]) => [unbroadcast(dy!, need(node, inputs, 0).shape), undefined],
};

/** Tile; the gradient sums the copies: dy viewed as [r0, d0, r1, d1, ...] summed over the r axes. */
const tileOp: TrainOp = {
  forward: (node, inputs) => ({ outputs: [tf.tile(need(node, inputs, 0), intsOf(node, inputs, 1, 'repeats') ?? [])] }),
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    const repeats = intsOf(node, inputs, 1, 'repeats') ?? [];
    const view = x.shape.flatMap((d, i) => [repeats[i], d]);
    return [tf.reshape(tf.sum(tf.reshape(dy!, view), x.shape.map((_, i) => 2 * i)), x.shape), undefined];
  },
};

/** Pad (constant mode, non-negative pads); the gradient is the slice of the output gradient. */
const padOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const pads = intsOf(node, inputs, 1, 'pads') ?? [];
    if ((node.attributes.mode ?? 'constant') !== 'constant') throw unsupported(node, `pad mode ${String(node.attributes.mode)} is not supported in training`);
    if (inputs[3] !== undefined) throw unsupported(node, 'the axes input is not supported in training');
    if (pads.some((p) => p < 0)) throw unsupported(node, 'negative pads are not supported in training');
    const value = inputs[2] !== undefined ? inputs[2].dataSync()[0] : num(node, 'value', 0);
    return { outputs: [tf.pad(x, x.shape.map((_, i) => [pads[i], pads[i + x.rank]] as [number, number]), value)] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    const pads = intsOf(node, inputs, 1, 'pads') ?? [];
    return [tf.slice(dy!, pads.slice(0, x.rank), x.shape), undefined, undefined, undefined];
  },
};

/** Shape (with opset 15's start/end), an int32 tensor: no gradient. */
const shapeOp: TrainOp = {
  forward(node, inputs) {
    const shape = need(node, inputs, 0).shape;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + shape.length : v, 0), shape.length);
    const start = clamp(num(node, 'start', 0));
    const end = clamp(num(node, 'end', shape.length));
    return { outputs: [tf.tensor1d(shape.slice(start, end), 'int32')] };
  },
};

const constantOfShapeOp: TrainOp = {
  forward(node, inputs) {
    const value = node.attributes.value;
    const fill = typeof value === 'object' && !Array.isArray(value) ? value : { dtype: 'F32', values: [0] };
    const float = ['F32', 'F64', 'F16', 'BF16'].includes(fill.dtype);
    return { outputs: [tf.fill(intsOf(node, inputs, 0, 'shape') ?? [], fill.values[0] ?? 0, float ? 'float32' : 'int32')] };
  },
};

const rangeOp: TrainOp = {
  forward(node, inputs) {
    const [start, limit, delta] = [0, 1, 2].map((i) => need(node, inputs, i).dataSync()[0]);
    return { outputs: [tf.range(start, limit, delta, need(node, inputs, 0).dtype === 'float32' ? 'float32' : 'int32')] };
  },
};

const constantOp: TrainOp = {
  forward(node) {
    const v = node.attributes.value;
    if (typeof v !== 'object' || Array.isArray(v)) throw unsupported(node, 'only tensor constants are supported');
    const float = v.dtype === 'F32' || v.dtype === 'F64' || v.dtype === 'F16' || v.dtype === 'BF16';
    if (float || v.dtype === 'BOOL') return { outputs: [tf.tensor(v.values, v.shape, float ? 'float32' : 'bool')] };
    // int64 held as int32: the exporter's INT64_MAX slice ends clamp to int32's range, meaning the same.
    return { outputs: [tf.tensor(v.values.map((x) => Math.min(Math.max(x, -(2 ** 31)), 2 ** 31 - 1)), v.shape, 'int32')] };
  },
};

export const SHAPE_OPS: Record<string, TrainOp> = {
  Flatten: reshaping((node, x) => {
    const axis = (num(node, 'axis', 1) + x.rank) % x.rank;
    return [x.shape.slice(0, axis).reduce((p, d) => p * d, 1), -1];
  }),
  Reshape: reshaping((node, x, inputs) => reshapeTarget(x.shape, intsOf(node, inputs, 1, 'shape') ?? [], num(node, 'allowzero', 0) === 1)),
  Unsqueeze: reshaping((node, x, inputs) => unsqueezeShape(x.shape, intsOf(node, inputs, 1, 'axes') ?? [])),
  Squeeze: reshaping((node, x, inputs) => squeezeShape(x.shape, intsOf(node, inputs, 1, 'axes'))),
  Transpose: transposeOp,
  Concat: concatOp,
  Split: splitOp,
  Slice: sliceOp,
  Gather: gatherOp,
  Expand: expandOp,
  Tile: tileOp,
  Pad: padOp,
  Shape: shapeOp,
  ConstantOfShape: constantOfShapeOp,
  Range: rangeOp,
  Constant: constantOp,
};
