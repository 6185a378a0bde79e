import { numElements } from '../tensor/dtypes';
import {
  broadcastFold,
  broadcastShapes,
  FOLD_LIMIT,
  gatherValues,
  intAttr,
  intsAttr,
  normAxis,
  shaped,
  type Inferred,
  type Rule,
  type RuleContext,
} from './shape-rules-tensor';

/** Rules for ops that move data around: reshapes, slicing, concatenation, shape arithmetic. */

/** An int list given as input `i` from `sinceOpset` on, as attribute `attr` before. */
function intsArg(c: RuleContext, i: number, attr: string, sinceOpset: number): number[] | undefined {
  if (c.opset < sinceOpset) return intsAttr(c.node, attr);
  return c.node.inputs[i] ? c.input(i)?.values : undefined;
}

const reshape: Rule = (c) => {
  const x = c.input(0);
  const target = c.input(1)?.values;
  if (!x || !target) return undefined;
  const allowZero = intAttr(c.node, 'allowzero', 0) === 1;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const total = numElements(x.shape);
  const minus = shape.indexOf(-1);
  if (minus >= 0) {
    const rest = numElements(shape.filter((_, i) => i !== minus));
    if (rest === 0 || total % rest !== 0) return undefined;
    shape[minus] = total / rest;
  }
  if (shape.some((d) => d === undefined || d < 0) || numElements(shape) !== total) return undefined;
  return [{ shape, dtype: x.dtype, values: x.values }];
};

const flatten: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const axis = intAttr(c.node, 'axis', 1);
  const a = axis < 0 ? axis + x.shape.length : axis;
  if (a < 0 || a > x.shape.length) return undefined;
  return [{ shape: [numElements(x.shape.slice(0, a)), numElements(x.shape.slice(a))], dtype: x.dtype, values: x.values }];
};

const transpose: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const perm = intsAttr(c.node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (perm.length !== x.shape.length) return undefined;
  return shaped(perm.map((p) => x.shape[p]), x.dtype);
};

const concat: Rule = (c) => {
  const parts = c.node.inputs.map((_, i) => c.input(i));
  if (parts.length === 0 || parts.some((p) => !p)) return undefined;
  const known = parts as Inferred[];
  const rank = known[0].shape.length;
  const axis = normAxis(intAttr(c.node, 'axis', 0), rank);
  if (axis === undefined || known.some((p) => p.shape.length !== rank)) return undefined;
  const shape = [...known[0].shape];
  shape[axis] = known.reduce((sum, p) => sum + p.shape[axis], 0);
  let values: number[] | undefined;
  if (known.every((p) => p.values) && numElements(shape) <= FOLD_LIMIT) {
    const outer = numElements(shape.slice(0, axis));
    const inner = numElements(shape.slice(axis + 1));
    values = [];
    for (let o = 0; o < outer; o++) {
      for (const p of known) {
        const chunk = p.shape[axis] * inner;
        values.push(...(p.values as number[]).slice(o * chunk, (o + 1) * chunk));
      }
    }
  }
  return [{ shape, dtype: known[0].dtype, values }];
};

const split: Rule = (c) => {
  const x = c.input(0);
  const axis = x && normAxis(intAttr(c.node, 'axis', 0), x.shape.length);
  if (!x || axis === undefined) return undefined;
  const count = c.node.outputs.length;
  const dim = x.shape[axis];
  let sizes = intsArg(c, 1, 'split', 13);
  if (!sizes && c.opset >= 13 && c.node.inputs[1]) return undefined;
  if (!sizes) {
    const chunk = Math.ceil(dim / intAttr(c.node, 'num_outputs', count));
    sizes = c.node.outputs.map((_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (sizes.length !== count) return undefined;
  return sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === axis ? s : d)), dtype: x.dtype }));
};

const gather: Rule = (c) => {
  const data = c.input(0);
  const indices = c.input(1);
  const axis = data && normAxis(intAttr(c.node, 'axis', 0), data.shape.length);
  if (!data || !indices || axis === undefined) return undefined;
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const values = indices.values && gatherValues(data, axis, indices.values, indices.shape);
  return [{ shape, dtype: data.dtype, values }];
};

/** ONNX Slice bounds for one axis: the first index, the step and how many indices are taken. */
function sliceRange(dim: number, start: number, end: number, step: number): { first: number; step: number; count: number } {
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  // Arithmetic, not a loop: a hostile graph may declare enormous dims.
  return { first: s, step, count: Math.max(0, Math.ceil((e - s) / step)) };
}

const slice: Rule = (c) => {
  const x = c.input(0);
  const starts = intsArg(c, 1, 'starts', 10);
  const ends = intsArg(c, 2, 'ends', 10);
  if (!x || !starts || !ends || starts.length !== ends.length) return undefined;
  const axes = intsArg(c, 3, 'axes', 10) ?? starts.map((_, i) => i);
  const steps = (c.opset >= 10 ? intsArg(c, 4, 'steps', 10) : undefined) ?? starts.map(() => 1);
  if ((c.node.inputs[3] && !intsArg(c, 3, 'axes', 10)) || (c.node.inputs[4] && c.opset >= 10 && !intsArg(c, 4, 'steps', 10))) {
    return undefined;
  }
  const ranges = x.shape.map((dim) => ({ first: 0, step: 1, count: dim }));
  for (let k = 0; k < starts.length; k++) {
    const axis = normAxis(axes[k], x.shape.length);
    if (axis === undefined || steps[k] === 0) return undefined;
    ranges[axis] = sliceRange(x.shape[axis], starts[k], ends[k], steps[k]);
  }
  const shape = ranges.map((r) => r.count);
  let values: number[] | undefined;
  if (x.values && numElements(shape) <= FOLD_LIMIT) {
    values = [];
    const walk = (axis: number, offset: number): void => {
      if (axis === x.shape.length) {
        values!.push((x.values as number[])[offset]);
        return;
      }
      const r = ranges[axis];
      for (let k = 0; k < r.count; k++) walk(axis + 1, offset * x.shape[axis] + r.first + k * r.step);
    };
    walk(0, 0);
  }
  return [{ shape, dtype: x.dtype, values }];
};

const unsqueeze: Rule = (c) => {
  const x = c.input(0);
  const axes = intsArg(c, 1, 'axes', 13);
  if (!x || !axes) return undefined;
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normAxis(a, rank)));
  if (at.has(undefined) || at.size !== axes.length) return undefined;
  const shape: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) shape.push(at.has(i) ? 1 : x.shape[next++]);
  return [{ shape, dtype: x.dtype, values: x.values }];
};

const squeeze: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const axes = intsArg(c, 1, 'axes', 13);
  if (!axes && c.opset >= 13 && c.node.inputs[1]) return undefined;
  const drop = new Set(axes ? axes.map((a) => normAxis(a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  if (drop.has(undefined)) return undefined;
  return [{ shape: x.shape.filter((_, i) => !drop.has(i)), dtype: x.dtype, values: x.values }];
};

const shapeOp: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const values = x.shape.slice(clamp(intAttr(c.node, 'start', 0)), clamp(intAttr(c.node, 'end', rank)));
  return [{ shape: [values.length], dtype: 'I64', values }];
};

const expand: Rule = (c) => {
  const x = c.input(0);
  const target = c.input(1)?.values;
  const shape = x && target && broadcastShapes([x.shape, target]);
  if (!x || !shape) return undefined;
  return [{ shape, dtype: x.dtype, values: x.values && broadcastFold([x], shape, ([v]) => v) }];
};

const tile: Rule = (c) => {
  const x = c.input(0);
  const repeats = c.input(1)?.values;
  if (!x || !repeats || repeats.length !== x.shape.length) return undefined;
  return shaped(x.shape.map((d, i) => d * repeats[i]), x.dtype);
};

const pad: Rule = (c) => {
  const x = c.input(0);
  const pads = intsArg(c, 1, 'pads', 11);
  if (!x || !pads) return undefined;
  const axes = c.opset >= 18 && c.node.inputs[3] ? c.input(3)?.values : x.shape.map((_, i) => i);
  if (!axes || pads.length !== 2 * axes.length) return undefined;
  const shape = [...x.shape];
  for (let k = 0; k < axes.length; k++) {
    const axis = normAxis(axes[k], shape.length);
    if (axis === undefined) return undefined;
    shape[axis] += pads[k] + pads[k + axes.length];
  }
  return shaped(shape, x.dtype);
};

const resize: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const upsample = c.node.opType === 'Upsample';
  const sizes = upsample ? undefined : c.input(3)?.values;
  if (sizes && sizes.length === x.shape.length) return shaped(sizes, x.dtype);
  const scales = upsample ? (c.opset >= 9 ? c.input(1)?.values : intsAttr(c.node, 'scales')) : c.input(c.opset >= 11 ? 2 : 1)?.values;
  if (!scales || scales.length !== x.shape.length) return undefined;
  return shaped(x.shape.map((d, i) => Math.floor(d * scales[i])), x.dtype);
};

function blockRule(toDepth: boolean): Rule {
  return (c) => {
    const x = c.input(0)?.shape;
    const b = intAttr(c.node, 'blocksize', 0);
    if (!x || x.length !== 4 || b < 1) return undefined;
    const [n, ch, h, w] = x;
    return shaped(toDepth ? [n, ch * b * b, h / b, w / b] : [n, ch / (b * b), h * b, w * b], c.input(0)?.dtype);
  };
}

const topK: Rule = (c) => {
  const x = c.input(0);
  const k = c.opset >= 10 ? c.input(1)?.values?.[0] : intAttr(c.node, 'k', -1);
  const axis = x && normAxis(intAttr(c.node, 'axis', -1), x.shape.length);
  if (!x || k === undefined || k < 0 || axis === undefined) return undefined;
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return [{ shape, dtype: x.dtype }, { shape, dtype: 'I64' }];
};

const range: Rule = (c) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => c.input(i)?.values?.[0]);
  if (start === undefined || limit === undefined || !delta) return undefined;
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  const values = n <= FOLD_LIMIT ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined;
  return [{ shape: [n], dtype: c.input(0)?.dtype, values }];
};

export const LAYOUT_RULES: Readonly<Record<string, Rule>> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Gather: gather,
  Slice: slice,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Shape: shapeOp,
  Size: (c) => {
    const x = c.input(0);
    return x ? [{ shape: [], dtype: 'I64', values: [numElements(x.shape)] }] : undefined;
  },
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  DepthToSpace: blockRule(false),
  SpaceToDepth: blockRule(true),
  TopK: topK,
  Range: range,
};
