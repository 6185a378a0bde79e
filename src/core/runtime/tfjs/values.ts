import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../../errors';
import type { AttributeValue } from '../../graph/ir';
import type { Dtype } from '../../tensor/dtypes';
import { FLOAT_DTYPES, type HostValue } from '../host-ops';

/**
 * A value on the TF.js backend. `nhwc` marks a logically NCHW 4-D tensor stored channels-last
 * (what TF.js convolutions and pools produce), so that chains of convs, pools, activations and
 * residual adds run without a transpose at every kernel boundary. Kernels that need the PyTorch
 * (logical) layout call `plain()`; the logical shape is always NCHW.
 */
export interface TensorValue {
  tensor: tf.Tensor;
  /** The ONNX dtype (TF.js holds int64 as int32, float16/64 as float32). */
  dtype: Dtype;
  nhwc: boolean;
}

export type RtValue = TensorValue | HostValue;

/** A node as executed: graph nodes, with weights prepared at compile time for some ops. */
export interface CompiledNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  /** Compile-time data (e.g. a conv's HWIO filter with BatchNorm folded in). */
  prepared?: unknown;
}

/** Backend services a kernel may use. Tensors it returns are kept; its temporaries are disposed. */
export interface KernelContext {
  /** A host value as a backend tensor (converted once, owned by the plan). */
  hostTensor(v: HostValue): tf.Tensor;
  /** A tensor derived only from shapes/attributes, made once per plan (e.g. an average-pool divisor map). */
  cached(key: string, make: () => tf.Tensor): tf.Tensor;
}

export type Kernel = (ctx: KernelContext, node: CompiledNode, inputs: (RtValue | undefined)[]) => RtValue[];

export function isTensorValue(v: RtValue | undefined): v is TensorValue {
  return v !== undefined && (v as TensorValue).tensor !== undefined;
}

export function tensorValue(tensor: tf.Tensor, dtype: Dtype, nhwc = false): TensorValue {
  return { tensor, dtype, nhwc: nhwc && tensor.rank === 4 };
}

export function tfDtype(dtype: Dtype): tf.DataType {
  if (FLOAT_DTYPES.has(dtype)) return 'float32';
  return dtype === 'BOOL' ? 'bool' : 'int32';
}

/** NCHW → NHWC and back. */
export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];
/** Logical (NCHW) axis → physical axis of an nhwc tensor. */
export const NHWC_AXIS = [0, 3, 1, 2];

export function logicalShape(v: RtValue): number[] {
  if (!isTensorValue(v)) return v.shape;
  const s = v.tensor.shape as number[];
  return v.nhwc ? [s[0], s[3], s[1], s[2]] : [...s];
}

/** Transposing between NCHW and NHWC is a reshape when C or H·W is 1. */
function transposeOrReshape(t: tf.Tensor, toNhwc: boolean): tf.Tensor {
  const s = t.shape as number[];
  const perm = toNhwc ? TO_NHWC : TO_NCHW;
  const movesNothing = toNhwc ? s[1] === 1 || s[2] * s[3] === 1 : s[3] === 1 || s[1] * s[2] === 1;
  return movesNothing ? tf.reshape(t, perm.map((p) => s[p])) : tf.transpose(t, perm);
}

/** The value as a tensor in its logical (PyTorch) layout. */
export function plain(ctx: KernelContext, v: RtValue): tf.Tensor {
  if (!isTensorValue(v)) return ctx.hostTensor(v);
  return v.nhwc ? transposeOrReshape(v.tensor, false) : v.tensor;
}

/** A logically 4-D value stored channels-last. */
export function toNhwc(ctx: KernelContext, v: RtValue): tf.Tensor {
  if (isTensorValue(v) && v.nhwc) return v.tensor;
  const t = plain(ctx, v);
  if (t.rank !== 4) throw new CoreError('GRAPH_INVALID', `expected a 4-D tensor, got shape [${t.shape.join(', ')}]`);
  return transposeOrReshape(t, true);
}

/**
 * For element-wise ops next to an nhwc tensor: the value broadcast-aligned to channels-last
 * (lower ranks padded with leading 1s, then permuted), or undefined when its rank exceeds 4.
 */
export function nhwcPartner(ctx: KernelContext, v: RtValue): tf.Tensor | undefined {
  if (isTensorValue(v) && v.nhwc) return v.tensor;
  const t = plain(ctx, v);
  if (t.rank > 4) return undefined;
  const four = t.rank === 4 ? t : tf.reshape(t, [...new Array<number>(4 - t.rank).fill(1), ...t.shape]);
  return transposeOrReshape(four, true);
}

export function hostInput(v: RtValue | undefined, what: string): HostValue | undefined {
  if (v === undefined) return undefined;
  if (isTensorValue(v)) {
    throw new CoreError('GRAPH_UNKNOWN_OP', `${what} must be known before the run (a constant or shape arithmetic), not computed from data`);
  }
  return v;
}

export function requireInput(v: RtValue | undefined, what: string): RtValue {
  if (v === undefined) throw new CoreError('GRAPH_INVALID', `${what} is missing`);
  return v;
}

export function intsAttr(node: CompiledNode, name: string, fallback: number[]): number[] {
  const v = node.attributes[name];
  return Array.isArray(v) ? (v as number[]) : fallback;
}

export function numAttr(node: CompiledNode, name: string, fallback: number): number {
  const v = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

export function strAttr(node: CompiledNode, name: string, fallback: string): string {
  const v = node.attributes[name];
  return typeof v === 'string' ? v : fallback;
}

export function unsupported(node: CompiledNode, why: string): CoreError {
  return new CoreError('GRAPH_UNKNOWN_OP', `${node.opType} node ${node.name}: ${why}`, { node: node.name, opType: node.opType });
}

/** tf.tidy for results that hold tensors inside plain objects (kept, like any returned tensor). */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}
