import * as tf from '@tensorflow/tfjs-core';
import { averagePoolOp, batchNormOp, convOp, maxPoolOp } from './train-ops-nn';
import { need, num, unsupported, type TrainOp } from './train-op-types';

/** Sums a broadcast gradient back to `shape` (numpy broadcasting). */
export function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.rank - shape.length;
  const axes = grad.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1));
  return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
}

function binary(
  fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  grads: (a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor) => [tf.Tensor, tf.Tensor],
): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [fn(need(node, inputs, 0), need(node, inputs, 1))] }),
    backward(node, inputs, _f, [dy]) {
      const a = need(node, inputs, 0);
      const b = need(node, inputs, 1);
      const [da, db] = grads(a, b, dy!);
      return [unbroadcast(da, a.shape), unbroadcast(db, b.shape)];
    },
  };
}

function unary(fn: (x: tf.Tensor) => tf.Tensor, grad: (x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor) => tf.Tensor): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [fn(need(node, inputs, 0))] }),
    backward: (node, inputs, { outputs }, [dy]) => [grad(need(node, inputs, 0), outputs[0], dy!)],
  };
}

/** Ops that only rearrange their first input: the gradient is reshaped back. */
function reshaping(shapeOf: (node: Parameters<TrainOp['forward']>[0], x: tf.Tensor, inputs: (tf.Tensor | undefined)[]) => number[]): TrainOp {
  return {
    forward: (node, inputs) => ({ outputs: [tf.reshape(need(node, inputs, 0), shapeOf(node, need(node, inputs, 0), inputs))] }),
    backward: (node, inputs, _f, [dy]) => [tf.reshape(dy!, need(node, inputs, 0).shape), undefined],
  };
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

const matMulOp: TrainOp = {
  forward(node, inputs) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    if (a.rank !== 2 || b.rank !== 2) throw unsupported(node, 'only 2-D MatMul is supported in training yet');
    return { outputs: [tf.matMul(a, b)] };
  },
  backward: (node, inputs, _f, [dy]) => [tf.matMul(dy!, need(node, inputs, 1), false, true), tf.matMul(need(node, inputs, 0), dy!, true, false)],
};

const constantOp: TrainOp = {
  forward(node) {
    const v = node.attributes.value;
    if (typeof v !== 'object' || Array.isArray(v)) throw unsupported(node, 'only tensor constants are supported');
    const float = v.dtype === 'F32' || v.dtype === 'F64' || v.dtype === 'F16' || v.dtype === 'BF16';
    return { outputs: [tf.tensor(v.values, v.shape, float ? 'float32' : 'int32')] };
  },
};

/** op type → forward and backward; the training executor runs exactly these ops. */
export const TRAIN_OPS: Record<string, TrainOp> = {
  Conv: convOp,
  BatchNormalization: batchNormOp,
  MaxPool: maxPoolOp,
  AveragePool: averagePoolOp,
  GlobalAveragePool: {
    forward: (node, inputs) => ({ outputs: [tf.mean(need(node, inputs, 0), [2, 3], true)] }),
    backward(node, inputs, _f, [dy]) {
      const x = need(node, inputs, 0);
      const [, , h = 1, w = 1] = x.shape;
      return [tf.mul(tf.onesLike(x), tf.div(dy!, h * w))];
    },
  },
  Relu: unary(tf.relu, (_x, y, dy) => tf.mul(dy, tf.step(y))),
  Sigmoid: unary(tf.sigmoid, (_x, y, dy) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  Tanh: unary(tf.tanh, (_x, y, dy) => tf.mul(dy, tf.sub(1, tf.square(y)))),
  Identity: unary((x) => x, (_x, _y, dy) => dy),
  Flatten: reshaping((node, x) => {
    const axis = (num(node, 'axis', 1) + x.rank) % x.rank;
    return [x.shape.slice(0, axis).reduce((p, d) => p * d, 1), -1];
  }),
  Reshape: reshaping((node, x, inputs) => {
    const spec = Array.from(need(node, inputs, 1).dataSync());
    const allowZero = num(node, 'allowzero', 0) === 1;
    return spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  }),
  Gemm: gemmOp,
  MatMul: matMulOp,
  Add: binary(tf.add, (_a, _b, dy) => [dy, dy]),
  Sub: binary(tf.sub, (_a, _b, dy) => [dy, tf.neg(dy)]),
  Mul: binary(tf.mul, (a, b, dy) => [tf.mul(dy, b), tf.mul(dy, a)]),
  Div: binary(tf.div, (a, b, dy) => [tf.div(dy, b), tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))]),
  Constant: constantOp,
};
