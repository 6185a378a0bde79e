import * as tf from '@tensorflow/tfjs-core';
import { broadcastShapes, normalizeAxis } from '../host-ops';
import type { FusedActivation } from './kernels-conv';
import {
  hostInput,
  intsAttr,
  isTensorValue,
  NHWC_AXIS,
  numAttr,
  plain,
  requireInput,
  tensorValue,
  unsupported,
  type CompiledNode,
  type Kernel,
  type RtValue,
} from './values';

/** Eval-mode BatchNormalization as y = x·scale + shift, per channel (1-D tensors). */
export interface PreparedBatchNorm {
  scale: tf.Tensor1D;
  shift: tf.Tensor1D;
}

/** A Gemm whose B (and C) are constants: B as [K, N] with alpha folded in, C scaled by beta. */
export interface PreparedGemm {
  b: tf.Tensor2D;
  bias?: tf.Tensor;
  activation: FusedActivation;
}

/** Softmax-family ops of opsets < 13 flatten to 2-D around the axis. */
export interface PreparedSoftmax {
  legacy: boolean;
}

/** Call inside tf.tidy. */
export function batchNormScaleShift(gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, epsilon: number): PreparedBatchNorm {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
  const shift = tf.sub(beta, tf.mul(mean, scale));
  return { scale: tf.reshape(scale, [-1]) as tf.Tensor1D, shift: tf.reshape(shift, [-1]) as tf.Tensor1D };
}

const batchNormKernel: Kernel = (ctx, node, inputs) => {
  if (numAttr(node, 'training_mode', 0) === 1) throw unsupported(node, 'training-mode BatchNormalization is not supported');
  const x = requireInput(inputs[0], `input of ${node.name}`);
  const p =
    (node.prepared as PreparedBatchNorm | undefined) ??
    batchNormScaleShift(
      ...([1, 2, 3, 4].map((i) => plain(ctx, requireInput(inputs[i], `input ${i} of ${node.name}`))) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]),
      numAttr(node, 'epsilon', 1e-5),
    );
  if (isTensorValue(x) && x.nhwc) return [tensorValue(tf.add(tf.mul(x.tensor, p.scale), p.shift), 'F32', true)];
  const t = plain(ctx, x);
  const shape = [-1, ...new Array<number>(Math.max(t.rank - 2, 0)).fill(1)];
  return [tensorValue(tf.add(tf.mul(t, tf.reshape(p.scale, shape)), tf.reshape(p.shift, shape)), 'F32')];
};

const gemmKernel: Kernel = (ctx, node, inputs) => {
  const a = plain(ctx, requireInput(inputs[0], `input A of ${node.name}`));
  const transposeA = numAttr(node, 'transA', 0) === 1;
  const p = node.prepared as PreparedGemm | undefined;
  if (p) {
    // tfjs-backend-wasm's fused matMul mishandles transposeA together with a bias: transpose first.
    const lhs = transposeA ? tf.transpose(a) : a;
    return [tensorValue(tf.fused.matMul({ a: lhs, b: p.b, bias: p.bias, activation: p.activation }), 'F32')];
  }
  const b = plain(ctx, requireInput(inputs[1], `input B of ${node.name}`));
  let y = tf.matMul(a, b, transposeA, numAttr(node, 'transB', 0) === 1);
  const alpha = numAttr(node, 'alpha', 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  if (inputs[2] !== undefined) {
    const beta = numAttr(node, 'beta', 1);
    const c = plain(ctx, inputs[2]);
    y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
  }
  return [tensorValue(y, 'F32')];
};

/**
 * Batched product with numpy broadcasting of the batch dims, done explicitly: tf.matMul gives
 * wrong results when batch ranks differ (e.g. [2,1,3,4] x [5,4,6], tfjs-core 4.22, cpu and wasm).
 */
function batchMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  const flat = (t: tf.Tensor, own: number[], rows: number, cols: number): tf.Tensor => {
    const same = own.length === batch.length && own.every((d, i) => d === batch[i]);
    const full = same ? t : tf.broadcastTo(tf.reshape(t, [...new Array<number>(batch.length - own.length).fill(1), ...t.shape]), [...batch, rows, cols]);
    return tf.reshape(full, [-1, rows, cols]);
  };
  const y = tf.matMul(flat(a, batchA, m, k), flat(b, batchB, k, n));
  return tf.reshape(y, [...batch, m, n]);
}

const matMulKernel: Kernel = (ctx, node, inputs) => {
  let a = plain(ctx, requireInput(inputs[0], `input A of ${node.name}`));
  let b = plain(ctx, requireInput(inputs[1], `input B of ${node.name}`));
  const vectorA = a.rank === 1;
  const vectorB = b.rank === 1;
  if (vectorA) a = tf.expandDims(a, 0);
  if (vectorB) b = tf.expandDims(b, 1);
  let y: tf.Tensor;
  if (b.rank === 2 && a.rank > 2) {
    // [..., M, K] x [K, N]: one 2-D product over the flattened leading dims.
    const lead = a.shape.slice(0, -1);
    y = tf.reshape(tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]]), b), [...lead, b.shape[1] as number]);
  } else {
    y = batchMatMul(a, b);
  }
  if (vectorA) y = tf.squeeze(y, [y.rank - 2]);
  if (vectorB) y = tf.squeeze(y, [y.rank - 1]);
  return [tensorValue(y, 'F32')];
};

function softmaxFamily(fn: (t: tf.Tensor) => tf.Tensor): Kernel {
  return (ctx, node, inputs) => {
    const t = plain(ctx, requireInput(inputs[0], `input of ${node.name}`));
    const legacy = (node.prepared as PreparedSoftmax | undefined)?.legacy ?? false;
    const axis = normalizeAxis(numAttr(node, 'axis', legacy ? 1 : -1), t.rank);
    if (legacy) {
      const rows = t.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      return [tensorValue(tf.reshape(fn(tf.reshape(t, [rows, -1])), t.shape), 'F32')];
    }
    if (axis === t.rank - 1) return [tensorValue(fn(t), 'F32')];
    const perm = t.shape.map((_, i) => i);
    perm[axis] = t.rank - 1;
    perm[t.rank - 1] = axis;
    return [tensorValue(tf.transpose(fn(tf.transpose(t, perm)), perm), 'F32')];
  };
}

function normalize(t: tf.Tensor, axes: number[], epsilon: number): tf.Tensor {
  const centered = tf.sub(t, tf.mean(t, axes, true));
  const variance = tf.mean(tf.square(centered), axes, true);
  return tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon)));
}

const layerNormKernel: Kernel = (ctx, node, inputs) => {
  if (node.outputs.slice(1).some((o) => o !== '')) throw unsupported(node, 'the Mean/InvStdDev outputs are not supported');
  const t = plain(ctx, requireInput(inputs[0], `input of ${node.name}`));
  const axis = normalizeAxis(numAttr(node, 'axis', -1), t.rank);
  const axes = t.shape.slice(axis).map((_, i) => axis + i);
  let y = tf.mul(normalize(t, axes, numAttr(node, 'epsilon', 1e-5)), plain(ctx, requireInput(inputs[1], `scale of ${node.name}`)));
  if (inputs[2] !== undefined) y = tf.add(y, plain(ctx, inputs[2]));
  return [tensorValue(y, 'F32')];
};

const instanceNormKernel: Kernel = (ctx, node, inputs) => {
  const t = plain(ctx, requireInput(inputs[0], `input of ${node.name}`));
  const shape = [-1, ...new Array<number>(t.rank - 2).fill(1)];
  const axes = t.shape.slice(2).map((_, i) => i + 2);
  const scale = tf.reshape(plain(ctx, requireInput(inputs[1], `scale of ${node.name}`)), shape);
  const bias = tf.reshape(plain(ctx, requireInput(inputs[2], `bias of ${node.name}`)), shape);
  return [tensorValue(tf.add(tf.mul(normalize(t, axes, numAttr(node, 'epsilon', 1e-5)), scale), bias), 'F32')];
};

function reduceAxes(node: CompiledNode, inputs: (RtValue | undefined)[], rank: number): number[] | undefined {
  const fromInput = hostInput(inputs[1], `axes of ${node.name}`)?.values;
  const axes = fromInput ?? intsAttr(node, 'axes', []);
  if (axes.length === 0) return numAttr(node, 'noop_with_empty_axes', 0) === 1 ? undefined : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => normalizeAxis(a, rank));
}

function reduce(fn: (t: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): Kernel {
  return (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    const rank = isTensorValue(x) ? x.tensor.rank : x.shape.length;
    const axes = reduceAxes(node, inputs, rank);
    if (axes === undefined) return [x];
    const keep = numAttr(node, 'keepdims', 1) === 1;
    if (isTensorValue(x) && x.nhwc && keep) {
      return [tensorValue(fn(x.tensor, axes.map((a) => NHWC_AXIS[a]), true), x.dtype, true)];
    }
    return [tensorValue(fn(plain(ctx, x), axes, keep), x.dtype)];
  };
}

function argReduce(fn: (t: tf.Tensor, axis: number) => tf.Tensor): Kernel {
  return (ctx, node, inputs) => {
    if (numAttr(node, 'select_last_index', 0) === 1) throw unsupported(node, 'select_last_index is not supported');
    const t = plain(ctx, requireInput(inputs[0], `input of ${node.name}`));
    const axis = normalizeAxis(numAttr(node, 'axis', 0), t.rank);
    const y = fn(t, axis);
    return [tensorValue(numAttr(node, 'keepdims', 1) === 1 ? tf.expandDims(y, axis) : y, 'I64')];
  };
}

export const NN_KERNELS: Record<string, Kernel> = {
  BatchNormalization: batchNormKernel,
  Gemm: gemmKernel,
  MatMul: matMulKernel,
  Softmax: softmaxFamily((t) => tf.softmax(t)),
  LogSoftmax: softmaxFamily((t) => tf.logSoftmax(t)),
  LayerNormalization: layerNormKernel,
  InstanceNormalization: instanceNormKernel,
  ReduceMean: reduce((t, axes, keep) => tf.mean(t, axes, keep)),
  ReduceSum: reduce((t, axes, keep) => tf.sum(t, axes, keep)),
  ReduceMax: reduce((t, axes, keep) => tf.max(t, axes, keep)),
  ReduceMin: reduce((t, axes, keep) => tf.min(t, axes, keep)),
  ReduceProd: reduce((t, axes, keep) => tf.prod(t, axes, keep)),
  ReduceSumSquare: reduce((t, axes, keep) => tf.sum(tf.square(t), axes, keep)),
  ReduceL2: reduce((t, axes, keep) => tf.sqrt(tf.sum(tf.square(t), axes, keep))),
  ArgMax: argReduce((t, axis) => tf.argMax(t, axis)),
  ArgMin: argReduce((t, axis) => tf.argMin(t, axis)),
};

