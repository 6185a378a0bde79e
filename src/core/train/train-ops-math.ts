import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { need, num, unsupported, type TrainOp } from './train-op-types';

/** Sums a broadcast gradient back to `shape` (numpy broadcasting). */
export function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.rank - shape.length;
  const axes = grad.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1));
  return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
}

const isFloat = (t: tf.Tensor): boolean => t.dtype === 'float32';

export function binary(
  fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  grads: (a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, y: tf.Tensor) => [tf.Tensor, tf.Tensor],
): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [fn(need(node, inputs, 0), need(node, inputs, 1))] }),
    backward(node, inputs, { outputs }, [dy]) {
      const a = need(node, inputs, 0);
      const b = need(node, inputs, 1);
      const [da, db] = grads(a, b, dy!, outputs[0]);
      return [isFloat(a) ? unbroadcast(da, a.shape) : undefined, isFloat(b) ? unbroadcast(db, b.shape) : undefined];
    },
  };
}

export function unary(fn: (x: tf.Tensor) => tf.Tensor, grad: (x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor) => tf.Tensor): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [fn(need(node, inputs, 0))] }),
    backward: (node, inputs, { outputs }, [dy]) => [grad(need(node, inputs, 0), outputs[0], dy!)],
  };
}

/** An op with no gradient (comparisons, integer arithmetic, shape bookkeeping). */
function noGradient(fn: (inputs: tf.Tensor[], node: Parameters<TrainOp['forward']>[0]) => tf.Tensor): TrainOp {
  return { forward: (node, inputs) => ({ outputs: [fn(inputs.map((_, i) => need(node, inputs, i)), node)] }) };
}

/** 1 where lo < x < hi, else 0 (float). */
function inside(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  return tf.cast(tf.logicalAnd(tf.greater(x, lo), tf.less(x, hi)), 'float32');
}

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function scalarBound(node: Parameters<TrainOp['forward']>[0], t: tf.Tensor | undefined, name: string, fallback: number): number {
  if (t !== undefined) return t.dataSync()[0];
  return num(node, name, fallback);
}

/** Clip (ReLU6 as exported): the gradient passes strictly inside the bounds, as PyTorch's hardtanh. */
const clipOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    const lo = scalarBound(node, inputs[1], 'min', -Infinity);
    const hi = scalarBound(node, inputs[2], 'max', Infinity);
    const low = Number.isFinite(lo) ? tf.maximum(x, lo) : x;
    return { outputs: [Number.isFinite(hi) ? tf.minimum(low, hi) : low] };
  },
  backward(node, inputs, _f, [dy]) {
    const lo = scalarBound(node, inputs[1], 'min', -Infinity);
    const hi = scalarBound(node, inputs[2], 'max', Infinity);
    return [tf.mul(dy!, inside(need(node, inputs, 0), lo, hi)), undefined, undefined];
  },
};

const hardSigmoid = (x: tf.Tensor, alpha: number, beta: number): tf.Tensor => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);

/** Gelu: the exact (erf) form, or the tanh approximation. */
const geluOp: TrainOp = {
  forward(node, inputs) {
    const x = need(node, inputs, 0);
    if (node.attributes.approximate === 'tanh') {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return { outputs: [tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1))] };
    }
    return { outputs: [tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1))] };
  },
  backward(node, inputs, _f, [dy]) {
    const x = need(node, inputs, 0);
    if (node.attributes.approximate === 'tanh') {
      const c = Math.sqrt(2 / Math.PI);
      const t = tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c));
      const du = tf.mul(tf.add(1, tf.mul(tf.square(x), 3 * 0.044715)), c);
      const d = tf.add(tf.mul(tf.add(t, 1), 0.5), tf.mul(tf.mul(tf.mul(x, 0.5), tf.sub(1, tf.square(t))), du));
      return [tf.mul(dy!, d)];
    }
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1), 0.5);
    const pdf = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
    return [tf.mul(dy!, tf.add(cdf, tf.mul(x, pdf)))];
  },
};

/** Pow: d/da = b·a^(b−1); d/db = y·ln a where a > 0 (0 elsewhere). */
const powOp: TrainOp = binary(
  (a, b) => tf.pow(a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype)),
  (a, b, dy, y) => {
    const bf = tf.cast(b, 'float32');
    const da = tf.mul(dy, tf.mul(bf, tf.pow(a, tf.sub(bf, 1))));
    const positive = tf.greater(a, 0);
    const db = tf.mul(dy, tf.where(positive, tf.mul(y, tf.log(tf.where(positive, a, tf.onesLike(a)))), tf.zerosLike(y)));
    return [da, db];
  },
);

/** PRelu: slope broadcast against x (e.g. [C, 1, 1]). */
const preluOp: TrainOp = binary(
  (x, slope) => tf.where(tf.greater(x, 0), x, tf.mul(x, slope)),
  (x, slope, dy) => {
    const positive = tf.greater(x, 0);
    const zero = tf.zerosLike(dy);
    return [tf.where(positive, dy, tf.mul(dy, slope)), tf.where(positive, zero, tf.mul(dy, x))];
  },
);

/** Where(cond, a, b): the gradient goes to the branch that was taken. */
const whereOp: TrainOp = {
  forward: (node, inputs) => ({ outputs: [tf.where(tf.cast(need(node, inputs, 0), 'bool'), need(node, inputs, 1), need(node, inputs, 2))] }),
  backward(node, inputs, _f, [dy]) {
    const [cond, a, b] = [0, 1, 2].map((i) => need(node, inputs, i));
    const shape = dy!.shape;
    const c = tf.broadcastTo(tf.cast(cond, 'bool'), shape);
    const zero = tf.zerosLike(dy!);
    return [undefined, isFloat(a) ? unbroadcast(tf.where(c, dy!, zero), a.shape) : undefined, isFloat(b) ? unbroadcast(tf.where(c, zero, dy!), b.shape) : undefined];
  },
};

/** Variadic Sum / Mean: every input takes the (broadcast-reduced) output gradient, Mean's divided by n. */
function variadic(mean: boolean): TrainOp {
  return {
    forward(node, inputs) {
      const parts = inputs.map((_, i) => need(node, inputs, i));
      const total = parts.slice(1).reduce((s, p) => tf.add(s, p), parts[0]);
      return { outputs: [mean ? tf.div(total, parts.length) : total] };
    },
    backward(node, inputs, _f, [dy]) {
      const g = mean ? tf.div(dy!, inputs.length) : dy!;
      return inputs.map((_, i) => unbroadcast(g, need(node, inputs, i).shape));
    },
  };
}

/**
 * Dropout. Eval mode (or ratio 0): identity. Training mode: PyTorch's inverted dropout, y = x·m/(1−p)
 * with m ~ Bernoulli(1−p) drawn from the context's seeded stream for this node. The mode is the
 * executor's (PyTorch's train()/eval()), not the exported `training_mode` input, as for BatchNorm.
 */
const dropoutOp: TrainOp = {
  forward(node, inputs, ctx) {
    const x = need(node, inputs, 0);
    const ratio = inputs[1] !== undefined ? inputs[1].dataSync()[0] : num(node, 'ratio', 0.5);
    if (!ctx.training || ratio === 0) {
      return { outputs: [x, tf.onesLike(tf.cast(x, 'bool'))], saved: [tf.scalar(1)] };
    }
    if (!ctx.random) throw new CoreError('INVALID_ARGUMENT', `Dropout node ${node.name} needs a random stream in training mode`, { node: node.name });
    const stream = ctx.random(node.name);
    const keep = new Float32Array(x.size);
    for (let i = 0; i < keep.length; i++) keep[i] = stream.uniform() >= ratio ? 1 : 0;
    const scaled = tf.mul(tf.tensor(keep, x.shape), ratio >= 1 ? 0 : 1 / (1 - ratio));
    return { outputs: [tf.mul(x, scaled), tf.cast(tf.tensor(keep, x.shape), 'bool')], saved: [scaled] };
  },
  backward: (_node, _inputs, { saved }, [dy]) => [tf.mul(dy!, saved![0]), undefined, undefined],
};

const castOp: TrainOp = {
  forward(node, inputs) {
    const to = num(node, 'to', 1);
    const dtype = to === 9 ? 'bool' : [1, 10, 11, 16].includes(to) ? 'float32' : 'int32';
    return { outputs: [tf.cast(need(node, inputs, 0), dtype)] };
  },
  backward: (node, inputs, { outputs }, [dy]) => [isFloat(need(node, inputs, 0)) && isFloat(outputs[0]) ? dy : undefined],
};

export const MATH_OPS: Record<string, TrainOp> = {
  Add: binary(tf.add, (_a, _b, dy) => [dy, dy]),
  Sub: binary(tf.sub, (_a, _b, dy) => [dy, tf.neg(dy)]),
  Mul: binary(tf.mul, (a, b, dy) => [tf.mul(dy, b), tf.mul(dy, a)]),
  Div: binary(tf.div, (a, b, dy) => [tf.div(dy, b), tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))]),
  Pow: powOp,
  PRelu: preluOp,
  Where: whereOp,
  Sum: variadic(false),
  Mean: variadic(true),
  Relu: unary(tf.relu, (_x, y, dy) => tf.mul(dy, tf.step(y))),
  Sigmoid: unary(tf.sigmoid, (_x, y, dy) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  Tanh: unary(tf.tanh, (_x, y, dy) => tf.mul(dy, tf.sub(1, tf.square(y)))),
  Erf: unary(tf.erf, (x, _y, dy) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), TWO_OVER_SQRT_PI))),
  Sqrt: unary(tf.sqrt, (_x, y, dy) => tf.div(dy, tf.mul(y, 2))),
  Exp: unary(tf.exp, (_x, y, dy) => tf.mul(dy, y)),
  Log: unary(tf.log, (x, _y, dy) => tf.div(dy, x)),
  Neg: unary(tf.neg, (_x, _y, dy) => tf.neg(dy)),
  Abs: unary(tf.abs, (x, _y, dy) => tf.mul(dy, tf.sign(x))),
  Reciprocal: unary(tf.reciprocal, (_x, y, dy) => tf.neg(tf.mul(dy, tf.square(y)))),
  Softplus: unary(tf.softplus, (x, _y, dy) => tf.mul(dy, tf.sigmoid(x))),
  Identity: unary((x) => x, (_x, _y, dy) => dy),
  Gelu: geluOp,
  Clip: clipOp,
  Dropout: dropoutOp,
  Cast: castOp,
  LeakyRelu: {
    forward: (node, inputs) => ({ outputs: [tf.leakyRelu(need(node, inputs, 0), num(node, 'alpha', 0.01))] }),
    backward: (node, inputs, _f, [dy]) => [tf.where(tf.greater(need(node, inputs, 0), 0), dy!, tf.mul(dy!, num(node, 'alpha', 0.01)))],
  },
  Elu: {
    forward(node, inputs) {
      const x = need(node, inputs, 0);
      return { outputs: [tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), num(node, 'alpha', 1)))] };
    },
    backward: (node, inputs, { outputs }, [dy]) => [
      tf.where(tf.greater(need(node, inputs, 0), 0), dy!, tf.mul(dy!, tf.add(outputs[0], num(node, 'alpha', 1)))),
    ],
  },
  HardSigmoid: {
    forward: (node, inputs) => ({ outputs: [hardSigmoid(need(node, inputs, 0), num(node, 'alpha', 0.2), num(node, 'beta', 0.5))] }),
    backward(node, inputs, _f, [dy]) {
      const alpha = num(node, 'alpha', 0.2);
      const z = tf.add(tf.mul(need(node, inputs, 0), alpha), num(node, 'beta', 0.5));
      return [tf.mul(dy!, tf.mul(inside(z, 0, 1), alpha))];
    },
  },
  HardSwish: unary(
    (x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5)),
    (x, _y, dy) => tf.mul(dy, tf.add(hardSigmoid(x, 1 / 6, 0.5), tf.mul(tf.mul(x, 1 / 6), inside(x, -3, 3)))),
  ),
  Equal: noGradient(([a, b]) => tf.equal(a, b)),
  Less: noGradient(([a, b]) => tf.less(a, b)),
  LessOrEqual: noGradient(([a, b]) => tf.lessEqual(a, b)),
  Greater: noGradient(([a, b]) => tf.greater(a, b)),
  GreaterOrEqual: noGradient(([a, b]) => tf.greaterEqual(a, b)),
  Not: noGradient(([a]) => tf.logicalNot(a)),
  And: noGradient(([a, b]) => tf.logicalAnd(a, b)),
  Or: noGradient(([a, b]) => tf.logicalOr(a, b)),
  Mod: noGradient(([a, b], node) => {
    if (num(node, 'fmod', 0) === 1) throw unsupported(node, 'fmod is not supported in training');
    return tf.mod(a, b);
  }),
  Floor: noGradient(([a]) => tf.floor(a)),
  Ceil: noGradient(([a]) => tf.ceil(a)),
};
