import * as tf from '@tensorflow/tfjs-core';
import { dtypeOfOnnxType } from '../../formats/onnx/onnx-dtypes';
import type { Dtype } from '../../tensor/dtypes';
import { FLOAT_DTYPES, scalarOf } from '../host-ops';
import {
  hostInput,
  isTensorValue,
  nhwcPartner,
  numAttr,
  plain,
  requireInput,
  strAttr,
  tensorValue,
  tfDtype,
  unsupported,
  type CompiledNode,
  type Kernel,
  type KernelContext,
  type RtValue,
} from './values';

/**
 * Applies `fn` to the inputs, channels-last when one of them is an nhwc tensor and all fit
 * (broadcasting is preserved by padding and permuting the others), else in the logical layout.
 */
export function elementwise(ctx: KernelContext, inputs: RtValue[], dtype: Dtype, fn: (ts: tf.Tensor[]) => tf.Tensor): RtValue {
  if (inputs.some((v) => isTensorValue(v) && v.nhwc)) {
    const parts = inputs.map((v) => nhwcPartner(ctx, v));
    if (parts.every((p): p is tf.Tensor => p !== undefined)) return tensorValue(fn(parts), dtype, true);
  }
  return tensorValue(fn(inputs.map((v) => plain(ctx, v))), dtype);
}

function unary(fn: (x: tf.Tensor, node: CompiledNode) => tf.Tensor, outDtype?: Dtype): Kernel {
  return (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    return [elementwise(ctx, [x], outDtype ?? x.dtype, ([t]) => fn(t, node))];
  };
}

const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

/** Integer division truncates toward zero in ONNX (TF.js floors). */
function divide(a: tf.Tensor, b: tf.Tensor, dtype: Dtype): tf.Tensor {
  if (FLOAT_DTYPES.has(dtype)) return tf.div(asFloat(a), asFloat(b));
  const q = tf.div(asFloat(a), asFloat(b));
  return tf.cast(tf.mul(tf.sign(q), tf.floor(tf.abs(q))), 'int32');
}

function binary(fn: (a: tf.Tensor, b: tf.Tensor, dtype: Dtype, node: CompiledNode) => tf.Tensor, bool = false): Kernel {
  return (ctx, node, inputs) => {
    const a = requireInput(inputs[0], `input A of ${node.name}`);
    const b = requireInput(inputs[1], `input B of ${node.name}`);
    return [elementwise(ctx, [a, b], bool ? 'BOOL' : a.dtype, ([x, y]) => fn(x, y, a.dtype, node))];
  };
}

/** Sum, Mean, Max, Min with any number of inputs. */
function variadic(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, mean = false): Kernel {
  return (ctx, node, inputs) => {
    const present = inputs.filter((v): v is RtValue => v !== undefined);
    return [
      elementwise(ctx, present, present[0].dtype, (ts) => {
        const total = ts.slice(1).reduce((acc, t) => fn(acc, t), ts[0]);
        return mean ? tf.div(total, ts.length) : total;
      }),
    ];
  };
}

function clipBound(node: CompiledNode, v: RtValue | undefined, attr: string, fallback: number): number {
  const host = hostInput(v, `Clip bound of ${node.name}`);
  if (host) return scalarOf(host, `Clip bound of ${node.name}`);
  return numAttr(node, attr, fallback);
}

const hardSigmoid = (x: tf.Tensor, alpha: number, beta: number): tf.Tensor => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);

const SQRT1_2 = Math.SQRT1_2;

export const ELEMENTWISE_KERNELS: Record<string, Kernel> = {
  Relu: unary((x) => tf.relu(x)),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  Erf: unary((x) => tf.erf(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Neg: unary((x) => tf.neg(x)),
  Abs: unary((x) => tf.abs(x)),
  Reciprocal: unary((x) => tf.reciprocal(x)),
  Floor: unary((x) => tf.floor(x)),
  Ceil: unary((x) => tf.ceil(x)),
  Round: unary((x) => tf.round(x)),
  Sign: unary((x) => tf.sign(x)),
  Sin: unary((x) => tf.sin(x)),
  Cos: unary((x) => tf.cos(x)),
  Softplus: unary((x) => tf.softplus(x)),
  Softsign: unary((x) => tf.div(x, tf.add(tf.abs(x), 1))),
  Mish: unary((x) => tf.mul(x, tf.tanh(tf.softplus(x)))),
  Not: unary((x) => tf.logicalNot(x), 'BOOL'),
  LeakyRelu: unary((x, n) => tf.leakyRelu(x, numAttr(n, 'alpha', 0.01))),
  Elu: unary((x, n) => {
    const alpha = numAttr(n, 'alpha', 1);
    return tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), alpha));
  }),
  Selu: unary((x, n) => {
    const alpha = numAttr(n, 'alpha', 1.67326319217681884765625);
    const gamma = numAttr(n, 'gamma', 1.05070102214813232421875);
    return tf.mul(tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), alpha)), gamma);
  }),
  HardSigmoid: unary((x, n) => hardSigmoid(x, numAttr(n, 'alpha', 0.2), numAttr(n, 'beta', 0.5))),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Gelu: unary((x, n) => {
    if (strAttr(n, 'approximate', 'none') === 'tanh') {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1));
  }),
  Clip: (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    const lo = clipBound(node, inputs[1], 'min', -Infinity);
    const hi = clipBound(node, inputs[2], 'max', Infinity);
    return [
      elementwise(ctx, [x], x.dtype, ([t]) => {
        if (Number.isFinite(lo) && Number.isFinite(hi)) return tf.clipByValue(t, lo, hi);
        const low = Number.isFinite(lo) ? tf.maximum(t, tf.scalar(lo, t.dtype)) : t;
        return Number.isFinite(hi) ? tf.minimum(low, tf.scalar(hi, t.dtype)) : low;
      }),
    ];
  },
  Cast: (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    const to = dtypeOfOnnxType(numAttr(node, 'to', 0));
    if (!to) throw unsupported(node, `cast to ONNX type ${String(node.attributes.to)}`);
    return [elementwise(ctx, [x], to, ([t]) => tf.cast(t, tfDtype(to)))];
  },
  Identity: (_ctx, node, inputs) => [requireInput(inputs[0], `input of ${node.name}`)],
  Dropout: (ctx, node, inputs) => {
    const x = requireInput(inputs[0], `input of ${node.name}`);
    if (node.outputs.length < 2 || node.outputs[1] === '') return [x];
    return [x, elementwise(ctx, [x], 'BOOL', ([t]) => tf.cast(tf.onesLike(t), 'bool'))];
  },
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Mul: binary((a, b) => tf.mul(a, b)),
  Div: binary((a, b, dtype) => divide(a, b, dtype)),
  Pow: binary((a, b) => tf.pow(a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype))),
  Mod: binary((a, b, dtype, node) => {
    if (numAttr(node, 'fmod', 0) === 1) return tf.sub(a, tf.mul(b, divide(a, b, FLOAT_DTYPES.has(dtype) ? 'I64' : dtype)));
    return tf.mod(a, b);
  }),
  PRelu: binary((a, b) => tf.where(tf.greater(a, 0), a, tf.mul(a, b))),
  Equal: binary((a, b) => tf.equal(a, b), true),
  Less: binary((a, b) => tf.less(a, b), true),
  LessOrEqual: binary((a, b) => tf.lessEqual(a, b), true),
  Greater: binary((a, b) => tf.greater(a, b), true),
  GreaterOrEqual: binary((a, b) => tf.greaterEqual(a, b), true),
  And: binary((a, b) => tf.logicalAnd(a, b), true),
  Or: binary((a, b) => tf.logicalOr(a, b), true),
  Xor: binary((a, b) => tf.logicalXor(a, b), true),
  Sum: variadic((a, b) => tf.add(a, b)),
  Mean: variadic((a, b) => tf.add(a, b), true),
  Max: variadic((a, b) => tf.maximum(a, b)),
  Min: variadic((a, b) => tf.minimum(a, b)),
  Where: (ctx, node, inputs) => {
    const [c, a, b] = [0, 1, 2].map((i) => requireInput(inputs[i], `input ${i} of ${node.name}`));
    return [elementwise(ctx, [c, a, b], a.dtype, ([tc, ta, tb]) => tf.where(tf.cast(tc, 'bool'), ta, tb))];
  },
};
