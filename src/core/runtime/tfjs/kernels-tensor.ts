import * as tf from '@tensorflow/tfjs-core';
import { numElements } from '../../tensor/dtypes';
import {
  broadcastShapes,
  normalizeAxis,
  reshapeTarget,
  resolveSlice,
  scalarOf,
  squeezeShape,
  unsqueezeShape,
  type HostValue,
} from '../host-ops';
import {
  hostInput,
  intsAttr,
  isTensorValue,
  logicalShape,
  NHWC_AXIS,
  numAttr,
  plain,
  requireInput,
  strAttr,
  tensorValue,
  tfDtype,
  toNhwc,
  unsupported,
  type CompiledNode,
  type Kernel,
  type RtValue,
} from './values';

function required(node: CompiledNode, inputs: (RtValue | undefined)[], i: number): RtValue {
  return requireInput(inputs[i], `input ${i} of ${node.name}`);
}

function requiredHost(node: CompiledNode, v: RtValue | undefined, what: string): HostValue {
  return requireInput(hostInput(v, `${what} of ${node.name}`), `${what} of ${node.name}`) as HostValue;
}

function hostValues(node: CompiledNode, v: RtValue | undefined, what: string): number[] | undefined {
  return hostInput(v, `${what} of ${node.name}`)?.values;
}

/** Ops that only re-label the logical shape. */
function reshapeLike(target: (node: CompiledNode, inputs: (RtValue | undefined)[], shape: number[]) => number[]): Kernel {
  return (ctx, node, inputs) => {
    const x = required(node, inputs, 0);
    const t = plain(ctx, x);
    return [tensorValue(tf.reshape(t, target(node, inputs, t.shape)), x.dtype)];
  };
}

const transposeKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const rank = logicalShape(x).length;
  const perm = intsAttr(node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (isTensorValue(x) && x.nhwc) {
    // Compose with the storage permutation; ConvNeXt's permute to channels-last becomes free.
    const composed = perm.map((p) => NHWC_AXIS[p]);
    const identity = composed.every((p, i) => p === i);
    return [tensorValue(identity ? x.tensor : tf.transpose(x.tensor, composed), x.dtype)];
  }
  const t = plain(ctx, x);
  if (rank === 4 && perm.join() === '0,3,1,2') return [tensorValue(t, x.dtype, true)];
  return [tensorValue(tf.transpose(t, perm), x.dtype)];
};

const concatKernel: Kernel = (ctx, node, inputs) => {
  const parts = inputs.filter((v): v is RtValue => v !== undefined);
  const rank = logicalShape(parts[0]).length;
  const axis = normalizeAxis(numAttr(node, 'axis', 0), rank);
  if (rank === 4 && parts.some((p) => isTensorValue(p) && p.nhwc)) {
    return [tensorValue(tf.concat(parts.map((p) => toNhwc(ctx, p)), NHWC_AXIS[axis]), parts[0].dtype, true)];
  }
  return [tensorValue(tf.concat(parts.map((p) => plain(ctx, p)), axis), parts[0].dtype)];
};

const splitKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const shape = logicalShape(x);
  const axis = normalizeAxis(numAttr(node, 'axis', 0), shape.length);
  const count = node.outputs.length;
  const sizes = [...(hostValues(node, inputs[1], 'split') ?? intsAttr(node, 'split', []))];
  if (sizes.length === 0) {
    const chunk = Math.ceil(shape[axis] / count);
    for (let i = 0; i < count; i++) sizes.push(Math.min(chunk, shape[axis] - i * chunk));
  }
  if (isTensorValue(x) && x.nhwc) return tf.split(x.tensor, sizes, NHWC_AXIS[axis]).map((t) => tensorValue(t, x.dtype, true));
  return tf.split(plain(ctx, x), sizes, axis).map((t) => tensorValue(t, x.dtype));
};

const sliceKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const spec = resolveSlice(
    logicalShape(x),
    hostValues(node, inputs[1], 'starts') ?? intsAttr(node, 'starts', []),
    hostValues(node, inputs[2], 'ends') ?? intsAttr(node, 'ends', []),
    hostValues(node, inputs[3], 'axes') ?? (node.attributes.axes ? intsAttr(node, 'axes', []) : undefined),
    hostValues(node, inputs[4], 'steps'),
  );
  const nhwc = isTensorValue(x) && x.nhwc;
  const physical = (axis: number): number => (nhwc ? NHWC_AXIS[axis] : axis);
  let t = isTensorValue(x) && x.nhwc ? x.tensor : plain(ctx, x);
  for (const s of spec.filter((s) => s.step < 0)) {
    // Negative steps (flips): gather the picked indices; the axis is then taken whole.
    const picks = Array.from({ length: s.count }, (_, k) => s.start + k * s.step);
    t = tf.gather(t, tf.tensor1d(picks, 'int32'), physical(s.axis));
  }
  const begin = new Array<number>(t.rank).fill(0);
  const size = [...t.shape];
  const strides = new Array<number>(t.rank).fill(1);
  for (const s of spec.filter((s) => s.step > 0)) {
    const axis = physical(s.axis);
    begin[axis] = s.start;
    size[axis] = s.count;
    strides[axis] = s.step;
  }
  const y = strides.every((s) => s === 1)
    ? tf.slice(t, begin, size)
    : tf.stridedSlice(t, begin, begin.map((b, i) => b + (size[i] - 1) * strides[i] + 1), strides);
  return [tensorValue(y, x.dtype, nhwc)];
};

/**
 * Negative indices counted from the end, all in int32: `tf.add(int32, number)` would give float32,
 * and wasm's Where reads the int32 branch of a mixed pair as float32 bits (index 2 became 0).
 */
function wrapNegative(indices: tf.Tensor, dim: number): tf.Tensor {
  return tf.where(tf.less(indices, 0), tf.add(indices, tf.scalar(dim, 'int32')), indices);
}

const gatherKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const t = plain(ctx, x);
  const axis = normalizeAxis(numAttr(node, 'axis', 0), t.rank);
  const idx = required(node, inputs, 1);
  const idxShape = logicalShape(idx);
  const dim = t.shape[axis];
  const indices = isTensorValue(idx) ? wrapNegative(tf.cast(idx.tensor, 'int32'), dim) : tf.tensor1d(idx.values.map((i) => (i < 0 ? i + dim : i)), 'int32');
  const y = tf.gather(t, tf.reshape(indices, [-1]), axis);
  return [tensorValue(tf.reshape(y, [...t.shape.slice(0, axis), ...idxShape, ...t.shape.slice(axis + 1)]), x.dtype)];
};

const expandKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const target = hostValues(node, inputs[1], 'shape') ?? [];
  const t = plain(ctx, x);
  const shape = broadcastShapes(t.shape, target);
  const lifted = t.rank < shape.length ? tf.reshape(t, [...new Array<number>(shape.length - t.rank).fill(1), ...t.shape]) : t;
  return [tensorValue(tf.broadcastTo(lifted, shape), x.dtype)];
};

const constantOfShapeKernel: Kernel = (_ctx, node, inputs) => {
  const shape = hostValues(node, inputs[0], 'shape') ?? [];
  const fill = node.attributes.value as { dtype: 'F32'; values: number[] } | undefined;
  const dtype = fill?.dtype ?? 'F32';
  return [tensorValue(tf.fill(shape, fill?.values[0] ?? 0, tfDtype(dtype)), dtype)];
};

const rangeKernel: Kernel = (_ctx, node, inputs) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => scalarOf(requiredHost(node, inputs[i], `Range input ${i}`), `Range input ${i}`));
  const dtype = required(node, inputs, 0).dtype;
  return [tensorValue(tf.range(start, limit, delta, tfDtype(dtype) === 'float32' ? 'float32' : 'int32'), dtype)];
};

const tileKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  return [tensorValue(tf.tile(plain(ctx, x), hostValues(node, inputs[1], 'repeats') ?? []), x.dtype)];
};

const padKernel: Kernel = (ctx, node, inputs) => {
  const x = required(node, inputs, 0);
  const mode = strAttr(node, 'mode', 'constant');
  const t = plain(ctx, x);
  const pads = hostValues(node, inputs[1], 'pads') ?? intsAttr(node, 'pads', []);
  if (inputs[3] !== undefined) throw unsupported(node, 'the axes input is not supported');
  if (pads.some((p) => p < 0)) throw unsupported(node, 'negative pads are not supported');
  const value = inputs[2] !== undefined ? scalarOf(requiredHost(node, inputs[2], 'pad value'), 'pad value') : numAttr(node, 'value', 0);
  const paddings = t.shape.map((_, i) => [pads[i], pads[i + t.rank]] as [number, number]);
  if (mode === 'constant') return [tensorValue(tf.pad(t, paddings, value), x.dtype)];
  if (mode === 'reflect') return [tensorValue(tf.mirrorPad(t, paddings, 'reflect'), x.dtype)];
  throw unsupported(node, `pad mode '${mode}' is not supported`);
};

export const TENSOR_KERNELS: Record<string, Kernel> = {
  Flatten: reshapeLike((node, _inputs, shape) => {
    const axis = numAttr(node, 'axis', 1);
    const a = axis < 0 ? axis + shape.length : axis;
    return [numElements(shape.slice(0, a)), numElements(shape.slice(a))];
  }),
  Reshape: reshapeLike((node, inputs, shape) =>
    reshapeTarget(shape, hostValues(node, inputs[1], 'shape') ?? intsAttr(node, 'shape', []), numAttr(node, 'allowzero', 0) === 1),
  ),
  Unsqueeze: reshapeLike((node, inputs, shape) => unsqueezeShape(shape, hostValues(node, inputs[1], 'axes') ?? intsAttr(node, 'axes', []))),
  Squeeze: reshapeLike((node, inputs, shape) =>
    squeezeShape(shape, hostValues(node, inputs[1], 'axes') ?? (node.attributes.axes ? intsAttr(node, 'axes', []) : undefined)),
  ),
  Transpose: transposeKernel,
  Concat: concatKernel,
  Split: splitKernel,
  Slice: sliceKernel,
  Gather: gatherKernel,
  Expand: expandKernel,
  ConstantOfShape: constantOfShapeKernel,
  Range: rangeKernel,
  Tile: tileKernel,
  Pad: padKernel,
};

