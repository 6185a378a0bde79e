import { CoreError } from '../errors';
import { numElements } from '../tensor/dtypes';

/** Shape rules shared by the host evaluator and the TF.js kernels (ONNX semantics). */

function invalid(message: string): CoreError {
  return new CoreError('GRAPH_INVALID', message);
}

/** The numpy broadcast of two shapes, or GRAPH_INVALID. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw invalid(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw invalid(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Reshape target per ONNX: 0 copies the input dim (unless allowzero), -1 is inferred. */
export function reshapeTarget(inputShape: readonly number[], spec: readonly number[], allowZero: boolean): number[] {
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inputShape[i] : d));
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    out[unknown] = known === 0 ? 0 : numElements(inputShape) / known;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numElements(out) !== numElements(inputShape)) {
    throw invalid(`cannot reshape [${inputShape.join(', ')}] to [${spec.join(', ')}]`);
  }
  return out;
}

export interface SliceAxis {
  axis: number;
  start: number;
  step: number;
  /** Number of elements taken. */
  count: number;
}

/** ONNX Slice semantics (negative indices, clamping, steps) resolved per axis for a shape. */
export function resolveSlice(shape: readonly number[], starts: number[], ends: number[], axesIn?: number[], stepsIn?: number[]): SliceAxis[] {
  const axes = axesIn ?? starts.map((_, i) => i);
  return axes.map((rawAxis, i) => {
    const axis = normalizeAxis(rawAxis, shape.length);
    const dim = shape[axis];
    const step = stepsIn?.[i] ?? 1;
    if (step === 0) throw invalid('Slice step must not be 0');
    const clampIndex = (v: number, lo: number, hi: number): number => {
      const x = v < 0 ? v + dim : v;
      return Math.min(Math.max(x, lo), hi);
    };
    const start = step > 0 ? clampIndex(starts[i], 0, dim) : clampIndex(starts[i], 0, dim - 1);
    const end = step > 0 ? clampIndex(ends[i], 0, dim) : clampIndex(ends[i], -1, dim - 1);
    const count = step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((start - end) / -step));
    return { axis, start, step, count };
  });
}

/** Unsqueeze's output shape for (possibly negative) axes. */
export function unsqueezeShape(shape: readonly number[], axes: number[]): number[] {
  const rank = shape.length + axes.length;
  const set = new Set(axes.map((a) => normalizeAxis(a, rank)));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : shape[k++]);
  return out;
}

/** Squeeze's output shape: the given axes (or every size-1 axis) removed. */
export function squeezeShape(shape: readonly number[], axes?: number[]): number[] {
  const set = new Set((axes ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normalizeAxis(a, shape.length)));
  return shape.filter((_, i) => !set.has(i));
}
