import { CoreError } from '../errors';
import { dtypeOfOnnxType } from '../formats/onnx/onnx-dtypes';
import type { ConstantTensor, GraphNode } from '../graph/ir';
import { numElements, type Dtype } from '../tensor/dtypes';
import { broadcastShapes, normalizeAxis, reshapeTarget, resolveSlice, squeezeShape, unsqueezeShape } from './shape-utils';

export { broadcastShapes, normalizeAxis, reshapeTarget, resolveSlice, squeezeShape, unsqueezeShape, type SliceAxis } from './shape-utils';

/**
 * Small tensors evaluated in plain JavaScript: the exporter's shape arithmetic (Shape → Gather →
 * Unsqueeze → Concat → Reshape, int64 Div/Mul/Mod, Where/Equal, Slice of shapes) and constants.
 * int64 values are JS numbers (exact up to 2^53; INT64_MAX-like slice ends are clamped by users).
 */
export type HostValue = ConstantTensor;

/** Host evaluation stops above this many elements: bigger values live on the tensor backend. */
export const MAX_HOST_ELEMENTS = 4096;

export const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['F32', 'F64', 'F16', 'BF16']);

export function hostValue(dtype: Dtype, shape: readonly number[], values: number[]): HostValue {
  return { dtype, shape: [...shape], values };
}

export function scalarOf(v: HostValue, what: string): number {
  if (v.values.length !== 1) throw invalid(`${what} must hold one value, it has ${v.values.length}`);
  return v.values[0];
}

function invalid(message: string): CoreError {
  return new CoreError('GRAPH_INVALID', message);
}

/** Rounds a value to the dtype (float32 rounding, integer truncation, bool 0/1). */
export function roundTo(dtype: Dtype, v: number): number {
  switch (dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
      return Math.fround(v);
    case 'F64':
      return v;
    case 'BOOL':
      return v !== 0 ? 1 : 0;
    default:
      return Number.isFinite(v) ? Math.trunc(v) : v;
  }
}

/** Row-major strides, with 0 for broadcast (size-1 or missing) axes of `shape` within `outShape`. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = outShape.length - shape.length + i;
    strides[axis] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/** Values of `inputs` broadcast to a common shape, element by element through `fn`. */
function mapBroadcast(inputs: HostValue[], dtype: Dtype, fn: (xs: number[]) => number): HostValue {
  const shape = inputs.reduce<number[]>((s, v) => broadcastShapes(s, v.shape), []);
  const strides = inputs.map((v) => broadcastStrides(v.shape, shape));
  const n = numElements(shape);
  const values = new Array<number>(n);
  const index = new Array<number>(shape.length).fill(0);
  const xs = new Array<number>(inputs.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < inputs.length; j++) {
      let off = 0;
      for (let a = 0; a < shape.length; a++) off += index[a] * strides[j][a];
      xs[j] = inputs[j].values[off];
    }
    values[k] = roundTo(dtype, fn(xs));
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return { dtype, shape, values };
}

/** Gathers index lists over an n-d array: out[i] = values[offset(coords(i))]. */
function gatherOffsets(shape: readonly number[], perAxis: number[][]): number[] {
  const strides = shape.map((_, i) => numElements(shape.slice(i + 1)));
  let offsets = [0];
  perAxis.forEach((indices, axis) => {
    const next: number[] = [];
    for (const o of offsets) for (const i of indices) next.push(o + i * strides[axis]);
    offsets = next;
  });
  return offsets;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function intsAttr(node: GraphNode, name: string): number[] | undefined {
  const v = node.attributes[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

function intAttr(node: GraphNode, name: string, fallback: number): number {
  const v = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

function castDtype(node: GraphNode): Dtype {
  const to = intAttr(node, 'to', 0);
  const dtype = dtypeOfOnnxType(to);
  if (!dtype) throw new CoreError('GRAPH_UNKNOWN_OP', `Cast to ONNX type ${to} is not supported`);
  return dtype;
}

const BINARY: Record<string, (a: number, b: number, dtype: Dtype) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, dtype) => (FLOAT_DTYPES.has(dtype) ? a / b : Math.trunc(a / b)),
  Pow: (a, b) => Math.pow(a, b),
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
};

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Less: (a, b) => a < b,
  LessOrEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterOrEqual: (a, b) => a >= b,
  And: (a, b) => a !== 0 && b !== 0,
  Or: (a, b) => a !== 0 || b !== 0,
};

const UNARY: Record<string, (a: number) => number> = {
  Neg: (a) => -a,
  Abs: (a) => Math.abs(a),
  Sqrt: (a) => Math.sqrt(a),
  Floor: (a) => Math.floor(a),
  Ceil: (a) => Math.ceil(a),
  Reciprocal: (a) => 1 / a,
  Exp: (a) => Math.exp(a),
  Log: (a) => Math.log(a),
  Identity: (a) => a,
  Dropout: (a) => a,
  Not: (a) => (a !== 0 ? 0 : 1),
};

/** Ops evaluate() can run on host values. */
export const HOST_OPS: ReadonlySet<string> = new Set([
  ...Object.keys(BINARY),
  ...Object.keys(COMPARE),
  ...Object.keys(UNARY),
  ...'Constant ConstantOfShape Cast Gather Unsqueeze Squeeze Concat Slice Reshape Flatten Transpose Expand Where Mod Range Size ReduceProd ReduceSum'.split(' '),
]);

/**
 * Evaluates one node on host values (inputs: '' entries are undefined). Returns undefined when the
 * result would exceed MAX_HOST_ELEMENTS (the caller then uses the tensor backend).
 */
export function evaluateHostNode(node: GraphNode, inputs: (HostValue | undefined)[]): HostValue[] | undefined {
  const x = inputs[0] as HostValue;
  const op = node.opType;
  if (op in BINARY) {
    const dtype = x.dtype;
    return [mapBroadcast([x, inputs[1] as HostValue], dtype, ([a, b]) => BINARY[op](a, b, dtype))];
  }
  if (op in COMPARE) return [mapBroadcast([x, inputs[1] as HostValue], 'BOOL', ([a, b]) => (COMPARE[op](a, b) ? 1 : 0))];
  if (op in UNARY) return [mapBroadcast([x], op === 'Not' ? 'BOOL' : x.dtype, ([a]) => UNARY[op](a))];
  switch (op) {
    case 'Constant': {
      const value = node.attributes.value;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return [value];
      if (typeof node.attributes.value_float === 'number') return [hostValue('F32', [], [node.attributes.value_float])];
      if (typeof node.attributes.value_int === 'number') return [hostValue('I64', [], [node.attributes.value_int])];
      const ints = intsAttr(node, 'value_ints');
      if (ints) return [hostValue('I64', [ints.length], ints)];
      throw new CoreError('GRAPH_UNKNOWN_OP', `Constant node ${node.name} has no supported value attribute`);
    }
    case 'ConstantOfShape': {
      const shape = x.values;
      const fill = node.attributes.value as HostValue | undefined;
      if (numElements(shape) > MAX_HOST_ELEMENTS) return undefined;
      const dtype = fill?.dtype ?? 'F32';
      return [hostValue(dtype, shape, new Array<number>(numElements(shape)).fill(fill?.values[0] ?? 0))];
    }
    case 'Cast': {
      const dtype = castDtype(node);
      return [hostValue(dtype, x.shape, x.values.map((v) => roundTo(dtype, v)))];
    }
    case 'Mod': {
      const fmod = intAttr(node, 'fmod', 0) === 1;
      return [mapBroadcast([x, inputs[1] as HostValue], x.dtype, ([a, b]) => (fmod ? a % b : a - b * Math.floor(a / b)))];
    }
    case 'Where':
      return [mapBroadcast([x, inputs[1] as HostValue, inputs[2] as HostValue], (inputs[1] as HostValue).dtype, ([c, a, b]) => (c ? a : b))];
    case 'Gather': {
      const axis = normalizeAxis(intAttr(node, 'axis', 0), x.shape.length);
      const idx = inputs[1] as HostValue;
      const dim = x.shape[axis];
      const picks = idx.values.map((i) => (i < 0 ? i + dim : i));
      if (picks.some((i) => i < 0 || i >= dim)) throw invalid(`Gather index out of range in ${node.name}`);
      const perAxis = x.shape.map((d, a) => (a === axis ? picks : range(d)));
      const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
      return [hostValue(x.dtype, shape, gatherOffsets(x.shape, perAxis).map((o) => x.values[o]))];
    }
    case 'Unsqueeze':
      return [hostValue(x.dtype, unsqueezeShape(x.shape, inputs[1]?.values ?? intsAttr(node, 'axes') ?? []), x.values)];
    case 'Squeeze':
      return [hostValue(x.dtype, squeezeShape(x.shape, inputs[1]?.values ?? intsAttr(node, 'axes')), x.values)];
    case 'Reshape':
      return [hostValue(x.dtype, reshapeTarget(x.shape, (inputs[1] as HostValue).values, intAttr(node, 'allowzero', 0) === 1), x.values)];
    case 'Flatten': {
      const axis = intAttr(node, 'axis', 1);
      const a = axis < 0 ? axis + x.shape.length : axis;
      return [hostValue(x.dtype, [numElements(x.shape.slice(0, a)), numElements(x.shape.slice(a))], x.values)];
    }
    case 'Concat': {
      const parts = inputs.filter((v): v is HostValue => v !== undefined);
      const axis = normalizeAxis(intAttr(node, 'axis', 0), x.shape.length);
      const outer = numElements(x.shape.slice(0, axis));
      const values: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const p of parts) {
          const block = numElements(p.shape.slice(axis));
          values.push(...p.values.slice(o * block, (o + 1) * block));
        }
      }
      const shape = [...x.shape];
      shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
      return [hostValue(x.dtype, shape, values)];
    }
    case 'Slice': {
      const [, starts, ends, axes, steps] = inputs;
      const spec = resolveSlice(x.shape, (starts as HostValue).values, (ends as HostValue).values, axes?.values, steps?.values);
      const perAxis = x.shape.map((d) => range(d));
      for (const s of spec) perAxis[s.axis] = range(s.count).map((k) => s.start + k * s.step);
      const shape = perAxis.map((p) => p.length);
      return [hostValue(x.dtype, shape, gatherOffsets(x.shape, perAxis).map((o) => x.values[o]))];
    }
    case 'Transpose': {
      const perm = intsAttr(node, 'perm') ?? range(x.shape.length).reverse();
      const shape = perm.map((p) => x.shape[p]);
      const strides = x.shape.map((_, i) => numElements(x.shape.slice(i + 1)));
      const values = range(numElements(shape)).map((k) => {
        let rest = k;
        let off = 0;
        for (let a = shape.length - 1; a >= 0; a--) {
          off += (rest % shape[a]) * strides[perm[a]];
          rest = Math.floor(rest / shape[a]);
        }
        return x.values[off];
      });
      return [hostValue(x.dtype, shape, values)];
    }
    case 'Expand': {
      const shape = broadcastShapes(x.shape, (inputs[1] as HostValue).values);
      if (numElements(shape) > MAX_HOST_ELEMENTS) return undefined;
      return [mapBroadcast([x, hostValue(x.dtype, shape, new Array<number>(numElements(shape)).fill(0))], x.dtype, ([a]) => a)];
    }
    case 'Range': {
      const [start, limit, delta] = inputs.map((v, i) => scalarOf(v as HostValue, `Range input ${i}`));
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      if (n > MAX_HOST_ELEMENTS) return undefined;
      return [hostValue(x.dtype, [n], range(n).map((i) => roundTo(x.dtype, start + i * delta)))];
    }
    case 'Size':
      return [hostValue('I64', [], [numElements(x.shape)])];
    case 'ReduceProd':
    case 'ReduceSum': {
      if (x.shape.length > 1 || intsAttr(node, 'axes') || inputs[1]) return undefined; // only the 1-D total
      const total = x.values.reduce((p, v) => (op === 'ReduceProd' ? p * v : p + v), op === 'ReduceProd' ? 1 : 0);
      const keep = intAttr(node, 'keepdims', 1) === 1;
      return [hostValue(x.dtype, keep ? [1] : [], [roundTo(x.dtype, total)])];
    }
    default:
      return undefined;
  }
}
