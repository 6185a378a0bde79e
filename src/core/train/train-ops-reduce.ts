import * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from '../graph/ir';
import { broadcastShapes, normalizeAxis } from '../runtime/shape-utils';
import { unbroadcast } from './train-ops-math';
import { intsOf, need, num, type TrainOp } from './train-op-types';

type Inputs = (tf.Tensor | undefined)[];

/** The reduced axes of ReduceMean/ReduceSum (attribute before opset 18, input after); undefined = none (no-op). */
function reduceAxes(node: GraphNode, inputs: Inputs, rank: number): number[] | undefined {
  const given = intsOf(node, inputs, 1, 'axes') ?? [];
  if (given.length === 0) return num(node, 'noop_with_empty_axes', 0) === 1 ? undefined : Array.from({ length: rank }, (_, i) => i);
  return given.map((a) => normalizeAxis(a, rank));
}

/** ReduceMean / ReduceSum: the gradient is the output gradient broadcast back (divided by the count for the mean). */
function reduce(mean: boolean): TrainOp {
  return {
    forward(node, inputs) {
      const x = need(node, inputs, 0);
      const axes = reduceAxes(node, inputs, x.rank);
      if (axes === undefined) return { outputs: [x] };
      const keep = num(node, 'keepdims', 1) === 1;
      return { outputs: [mean ? tf.mean(x, axes, keep) : tf.sum(x, axes, keep)] };
    },
    backward(node, inputs, _f, [dy]) {
      const x = need(node, inputs, 0);
      const axes = reduceAxes(node, inputs, x.rank);
      if (axes === undefined) return [dy, undefined];
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const count = axes.reduce((p, a) => p * x.shape[a], 1);
      const g = tf.broadcastTo(tf.reshape(dy!, kept), x.shape);
      return [mean ? tf.div(g, count) : g, undefined];
    },
  };
}

const softmaxAxis = (node: GraphNode, x: tf.Tensor): number => normalizeAxis(num(node, 'axis', -1), x.rank);

/** Applies a last-axis op (tf.softmax, tf.logSoftmax) along `axis` by swapping it to the end and back. */
function alongAxis(x: tf.Tensor, axis: number, fn: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (axis === x.rank - 1) return fn(x);
  const perm = x.shape.map((_, i) => i);
  [perm[axis], perm[x.rank - 1]] = [perm[x.rank - 1], perm[axis]];
  return tf.transpose(fn(tf.transpose(x, perm)), perm);
}

const softmaxOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    return { outputs: [alongAxis(x, softmaxAxis(node, x), (t) => tf.softmax(t))] };
  },
  backward(node, inputs, { outputs }, [dy]) {
    const axis = softmaxAxis(node, need(node, inputs, 0));
    const y = outputs[0];
    return [tf.mul(y, tf.sub(dy!, tf.sum(tf.mul(dy!, y), axis, true)))];
  },
};

const logSoftmaxOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    return { outputs: [alongAxis(x, softmaxAxis(node, x), (t) => tf.logSoftmax(t))] };
  },
  backward(node, inputs, { outputs }, [dy]) {
    const axis = softmaxAxis(node, need(node, inputs, 0));
    return [tf.sub(dy!, tf.mul(tf.exp(outputs[0]), tf.sum(dy!, axis, true)))];
  },
};

/**
 * Normalization over `axes` with per-element affine parameters broadcast against x:
 * y = x̂·scale + bias, x̂ = (x − mean)·r, r = 1/√(var + ε) (biased variance). Backward:
 * dx = r/M·(M·g − Σg − x̂·Σ(g·x̂)) with g = dy·scale, over the normalized axes.
 */
function normalize(x: tf.Tensor, axes: number[], epsilon: number) {
  const mean = tf.mean(x, axes, true);
  const centered = tf.sub(x, mean);
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes, true), epsilon));
  return { mean, invStd, normalized: tf.mul(centered, invStd) };
}

function normalizeBackward(dy: tf.Tensor, normalized: tf.Tensor, invStd: tf.Tensor, scale: tf.Tensor, axes: number[]): tf.Tensor {
  const count = axes.reduce((p, a) => p * dy.shape[a], 1);
  const g = tf.mul(dy, scale);
  const inner = tf.sub(tf.sub(tf.mul(g, count), tf.sum(g, axes, true)), tf.mul(normalized, tf.sum(tf.mul(g, normalized), axes, true)));
  return tf.mul(inner, tf.div(invStd, count));
}

/** LayerNormalization over axes [axis, rank); outputs Y and, when asked, Mean and InvStdDev. */
const layerNormOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const axis = normalizeAxis(num(node, 'axis', -1), x.rank);
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const { mean, invStd, normalized } = normalize(x, axes, num(node, 'epsilon', 1e-5));
    let y = tf.mul(normalized, need(node, inputs, 1));
    if (inputs[2] !== undefined) y = tf.add(y, inputs[2]);
    return { outputs: [y, mean, invStd], saved: [normalized] };
  },
  backward(node, inputs, { outputs, saved }, [dy]) {
    const x = need(node, inputs, 0);
    const scale = need(node, inputs, 1);
    const axis = normalizeAxis(num(node, 'axis', -1), x.rank);
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const normalized = saved![0];
    const dx = normalizeBackward(dy!, normalized, outputs[2], scale, axes);
    return [dx, unbroadcast(tf.mul(dy!, normalized), scale.shape), inputs[2] === undefined ? undefined : unbroadcast(dy!, inputs[2].shape)];
  },
};

/** InstanceNormalization: per sample and channel over the spatial axes; scale and bias per channel. */
const instanceNormOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const axes = x.shape.map((_, i) => i).slice(2);
    const perChannel = [1, -1, ...axes.map(() => 1)];
    const { invStd, normalized } = normalize(x, axes, num(node, 'epsilon', 1e-5));
    const y = tf.add(tf.mul(normalized, tf.reshape(need(node, inputs, 1), perChannel)), tf.reshape(need(node, inputs, 2), perChannel));
    return { outputs: [y], saved: [normalized, invStd] };
  },
  backward(node, inputs, { saved }, [dy]) {
    const x = need(node, inputs, 0);
    const axes = x.shape.map((_, i) => i).slice(2);
    const perChannel = [1, -1, ...axes.map(() => 1)];
    const [normalized, invStd] = saved!;
    const dx = normalizeBackward(dy!, normalized, invStd, tf.reshape(need(node, inputs, 1), perChannel), axes);
    const others = [0, ...axes];
    return [dx, tf.sum(tf.mul(dy!, normalized), others), tf.sum(dy!, others)];
  },
};

/** MatMul with numpy semantics: 1-D operands, batch dimensions broadcast (their gradients summed back). */
const matMulOp: TrainOp = {
  forward(node, inputs) {
    const { a, b, outShape } = matMulOperands(need(node, inputs, 0), need(node, inputs, 1));
    return { outputs: [tf.reshape(tf.matMul(a, b), outShape)] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    const w = need(node, inputs, 1);
    const { a, b, aShape, bShape } = matMulOperands(x, w);
    const g = tf.reshape(dy!, [...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), a.shape[a.rank - 2], b.shape[b.rank - 1]]);
    const da = unbroadcast(tf.matMul(g, b, false, true), aShape);
    const db = unbroadcast(tf.matMul(a, g, true, false), bShape);
    return [tf.reshape(da, x.shape), tf.reshape(db, w.shape)];
  },
};

function matMulOperands(x: tf.Tensor, w: tf.Tensor) {
  let a = x.rank === 1 ? tf.reshape(x, [1, -1]) : x;
  let b = w.rank === 1 ? tf.reshape(w, [-1, 1]) : w;
  const [aShape, bShape] = [a.shape, b.shape];
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const size = (s: number[]): number => s.reduce((p, d) => p * d, 1);
  const sameBatch = (s: number[]): boolean => s.length === batch.length && s.every((d, i) => d === batch[i]);
  // TF.js kernels broadcast only a batch of one; expand both operands otherwise.
  if (!(sameBatch(a.shape.slice(0, -2)) && sameBatch(b.shape.slice(0, -2))) && size(a.shape.slice(0, -2)) !== 1 && size(b.shape.slice(0, -2)) !== 1) {
    a = tf.broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
    b = tf.broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
  }
  const outShape = [...batch, ...(x.rank === 1 ? [] : [a.shape[a.rank - 2]]), ...(w.rank === 1 ? [] : [b.shape[b.rank - 1]])];
  return { a, b, aShape, bShape, outShape };
}

/** Y = α·op(A)·op(B) + β·C. */
const gemmOp: TrainOp = {
  forward(node, inputs) {
    let y = tf.matMul(need(node, inputs, 0), need(node, inputs, 1), num(node, 'transA', 0) === 1, num(node, 'transB', 0) === 1);
    const alpha = num(node, 'alpha', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (inputs[2] !== undefined) y = tf.add(y, tf.mul(inputs[2], num(node, 'beta', 1)));
    return { outputs: [y] };
  },
  backward(node, inputs, _f, [dy]) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const transA = num(node, 'transA', 0) === 1;
    const transB = num(node, 'transB', 0) === 1;
    const g = tf.mul(dy!, num(node, 'alpha', 1));
    const da = transA ? tf.matMul(b, g, transB, true) : tf.matMul(g, b, false, !transB);
    const db = transB ? tf.matMul(g, a, true, transA) : tf.matMul(a, g, !transA, false);
    const dc = inputs[2] === undefined ? undefined : unbroadcast(tf.mul(dy!, num(node, 'beta', 1)), inputs[2].shape);
    return [da, db, dc];
  },
};

/** GlobalMaxPool; the gradient goes to the first maximum of each channel. */
const globalMaxPoolOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    return { outputs: [tf.max(x, x.shape.map((_, i) => i).slice(2), true)] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    const [n, c] = x.shape;
    const flat = tf.reshape(x, [n, c, -1]) as tf.Tensor3D;
    const first = tf.oneHot(tf.argMax(flat, 2), flat.shape[2]);
    return [tf.reshape(tf.mul(first, tf.reshape(dy!, [n, c, 1])), x.shape)];
  },
};

export const REDUCE_OPS: Record<string, TrainOp> = {
  ReduceMean: reduce(true),
  ReduceSum: reduce(false),
  Softmax: softmaxOp,
  LogSoftmax: logSoftmaxOp,
  LayerNormalization: layerNormOp,
  InstanceNormalization: instanceNormOp,
  MatMul: matMulOp,
  Gemm: gemmOp,
  GlobalAveragePool: {
    forward: (node, inputs) => ({ outputs: [tf.mean(need(node, inputs, 0), need(node, inputs, 0).shape.map((_, i) => i).slice(2), true)] }),
    backward(node, inputs, _f, [dy]) {
      const x = need(node, inputs, 0);
      const count = x.shape.slice(2).reduce((p, d) => p * d, 1);
      return [tf.broadcastTo(tf.div(dy!, count), x.shape)];
    },
  },
  GlobalMaxPool: globalMaxPoolOp,
};
