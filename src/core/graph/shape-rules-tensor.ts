import type { Dtype } from '../tensor/dtypes';
import { numElements } from '../tensor/dtypes';
import type { GraphNode } from './ir';

/** A value as shape inference sees it: its shape, and its contents when statically known. */
export interface Inferred {
  shape: number[];
  dtype?: Dtype;
  /** Row-major contents of small static tensors (the exporter's shape arithmetic). */
  values?: number[];
}

/** What a rule reads: the node, its inputs as inferred so far, and the opset. */
export interface RuleContext {
  node: GraphNode;
  opset: number;
  input(i: number): Inferred | undefined;
}

/** Output descriptions in output order; undefined where a shape cannot be inferred. */
export type Rule = (c: RuleContext) => (Inferred | undefined)[] | undefined;

/** Static tensors larger than this are shaped but not folded. */
export const FOLD_LIMIT = 1 << 16;

export const INT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

/** ONNX TensorProto.DataType codes of the dtypes Weightsmith knows. */
export const ONNX_DTYPES: Readonly<Record<number, Dtype>> = {
  1: 'F32', 2: 'U8', 3: 'I8', 5: 'I16', 6: 'I32', 7: 'I64', 9: 'BOOL', 10: 'F16', 11: 'F64', 16: 'BF16',
};

export function intsAttr(node: GraphNode, name: string): number[] | undefined {
  const v = node.attributes[name];
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

export function intAttr(node: GraphNode, name: string, fallback: number): number {
  const v = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

export function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

/** Shape-only result (contents unknown). */
export function shaped(shape: number[] | undefined, dtype?: Dtype): (Inferred | undefined)[] | undefined {
  return shape ? [{ shape, dtype }] : undefined;
}

/** Numpy broadcasting; undefined when incompatible. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] !== 1) return undefined;
      out[o] = d;
    }
  }
  return out;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Applies `f` elementwise over broadcast inputs with known contents. */
export function broadcastFold(
  inputs: readonly Inferred[],
  outShape: readonly number[],
  f: (args: number[]) => number,
): number[] | undefined {
  const total = numElements(outShape);
  if (total > FOLD_LIMIT || inputs.some((t) => !t.values)) return undefined;
  const outStrides = strides(outShape);
  const inStrides = inputs.map((t) => {
    const own = strides(t.shape);
    // Stride 0 along broadcast axes; aligned to the output's trailing axes.
    return outShape.map((_, o) => {
      const i = o - (outShape.length - t.shape.length);
      return i < 0 || t.shape[i] === 1 ? 0 : own[i];
    });
  });
  const result = new Array<number>(total);
  const args = new Array<number>(inputs.length);
  for (let flat = 0; flat < total; flat++) {
    for (let k = 0; k < inputs.length; k++) {
      let offset = 0;
      let rest = flat;
      for (let o = 0; o < outShape.length; o++) {
        const idx = Math.floor(rest / outStrides[o]);
        rest -= idx * outStrides[o];
        offset += idx * inStrides[k][o];
      }
      args[k] = (inputs[k].values as number[])[offset];
    }
    result[flat] = f(args);
  }
  return result;
}

/** Gathers along `axis` with (normalised) indices; contents when both operands are known. */
export function gatherValues(data: Inferred, axis: number, indices: readonly number[], indicesShape: number[]): number[] | undefined {
  if (!data.values) return undefined;
  const outer = numElements(data.shape.slice(0, axis));
  const inner = numElements(data.shape.slice(axis + 1));
  const size = data.shape[axis];
  if (outer * indices.length * inner > FOLD_LIMIT || indicesShape.length > 8) return undefined;
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices) {
      const idx = raw < 0 ? raw + size : raw;
      if (idx < 0 || idx >= size) return undefined;
      const base = (o * size + idx) * inner;
      for (let k = 0; k < inner; k++) out.push(data.values[base + k]);
    }
  }
  return out;
}

/** Casts a number to an ONNX dtype as `Cast` does (truncation toward zero for integers). */
export function castValue(v: number, to: Dtype): number {
  if (to === 'BOOL') return v !== 0 ? 1 : 0;
  return INT_DTYPES.has(to) ? Math.trunc(v) : v;
}
