import { numElements } from '../tensor/dtypes';
import { BROADCAST_OPS, SAME_SHAPE_OPS } from './graph-ops';
import type { ConstantTensor } from './ir';
import { LAYOUT_RULES } from './shape-rules-layout';
import {
  broadcastFold,
  broadcastShapes,
  castValue,
  FOLD_LIMIT,
  INT_DTYPES,
  intAttr,
  intsAttr,
  normAxis,
  ONNX_DTYPES,
  shaped,
  type Inferred,
  type Rule,
  type RuleContext,
} from './shape-rules-tensor';

const COMPARISONS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']);

/** Python-style modulo (sign of the divisor), ONNX `Mod` with fmod=0. */
const floorMod = (a: number, b: number): number => a - Math.floor(a / b) * b;

const BINARY_FOLDS: Record<string, (args: number[], integral: boolean) => number> = {
  Add: ([a, b]) => a + b,
  Sub: ([a, b]) => a - b,
  Mul: ([a, b]) => a * b,
  Div: ([a, b], integral) => (integral ? Math.trunc(a / b) : a / b),
  Mod: ([a, b]) => floorMod(a, b),
  Pow: ([a, b]) => a ** b,
  Max: (args) => Math.max(...args),
  Min: (args) => Math.min(...args),
  Sum: (args) => args.reduce((x, y) => x + y, 0),
  Equal: ([a, b]) => Number(a === b),
  Less: ([a, b]) => Number(a < b),
  Greater: ([a, b]) => Number(a > b),
  LessOrEqual: ([a, b]) => Number(a <= b),
  GreaterOrEqual: ([a, b]) => Number(a >= b),
  And: ([a, b]) => Number(a !== 0 && b !== 0),
  Or: ([a, b]) => Number(a !== 0 || b !== 0),
  Xor: ([a, b]) => Number(a !== 0 !== (b !== 0)),
  Where: ([c, a, b]) => (c !== 0 ? a : b),
};

const UNARY_FOLDS: Record<string, (x: number) => number> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: (x) => Math.abs(x),
  Sqrt: (x) => Math.sqrt(x),
  Floor: (x) => Math.floor(x),
  Ceil: (x) => Math.ceil(x),
  Reciprocal: (x) => 1 / x,
  Relu: (x) => Math.max(0, x),
  Not: (x) => Number(x === 0),
};

const sameShape: Rule = (c) => {
  const x = c.input(0);
  if (!x) return undefined;
  const op = c.node.opType;
  const to = op === 'Cast' ? ONNX_DTYPES[intAttr(c.node, 'to', 0)] : op === 'CastLike' ? c.input(1)?.dtype : x.dtype;
  const fold = op === 'Cast' || op === 'CastLike' ? (v: number) => (to ? castValue(v, to) : v) : UNARY_FOLDS[op];
  const values = x.values && fold ? x.values.map(fold) : undefined;
  const out: Inferred = { shape: x.shape, dtype: to, values };
  // Dropout's mask and LayerNormalization's statistics are not needed by anything downstream here.
  return op === 'Dropout' ? [out, { shape: x.shape, dtype: 'BOOL' }] : [out];
};

const broadcast: Rule = (c) => {
  const inputs = c.node.inputs.map((_, i) => c.input(i));
  if (inputs.some((t) => !t)) return undefined;
  const known = inputs as Inferred[];
  const shape = broadcastShapes(known.map((t) => t.shape));
  if (!shape) return undefined;
  const op = c.node.opType;
  const dtype = COMPARISONS.has(op) ? 'BOOL' : op === 'Where' ? known[1].dtype : known[0].dtype;
  const fold = BINARY_FOLDS[op];
  const integral = known[0].dtype !== undefined && INT_DTYPES.has(known[0].dtype);
  const values = fold ? broadcastFold(known, shape, (args) => fold(args, integral)) : undefined;
  return [{ shape, dtype, values }];
};

/** Conv, ConvTranspose and the windowed pools: NCHW-style spatial arithmetic. */
function windowed(kind: 'conv' | 'convTranspose' | 'pool'): Rule {
  return (c) => {
    const x = c.input(0)?.shape;
    const w = kind === 'pool' ? undefined : c.input(1)?.shape;
    if (!x || x.length < 3 || (kind !== 'pool' && (!w || w.length !== x.length))) return undefined;
    const spatial = x.length - 2;
    const ones = new Array<number>(spatial).fill(1);
    const kernel = intsAttr(c.node, 'kernel_shape') ?? w?.slice(2);
    if (!kernel || kernel.length !== spatial) return undefined;
    const strides = intsAttr(c.node, 'strides') ?? ones;
    const dilations = intsAttr(c.node, 'dilations') ?? ones;
    const pads = intsAttr(c.node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    const autoPad = c.node.attributes.auto_pad ?? 'NOTSET';
    const ceilMode = intAttr(c.node, 'ceil_mode', 0) === 1;
    const dims: number[] = [];
    for (let i = 0; i < spatial; i++) {
      const [input, k, s, d] = [x[2 + i], kernel[i], strides[i], dilations[i]];
      const extent = d * (k - 1) + 1;
      let out: number;
      if (kind === 'convTranspose') {
        const outputPadding = intsAttr(c.node, 'output_padding')?.[i] ?? 0;
        out = s * (input - 1) + outputPadding + extent - pads[i] - pads[i + spatial];
      } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
        out = Math.ceil(input / s);
      } else if (autoPad === 'VALID') {
        out = Math.floor((input - extent) / s) + 1;
      } else {
        const span = input + pads[i] + pads[i + spatial] - extent;
        out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
        // PyTorch/ONNX rule: the last window must start inside the input or the left padding.
        if (ceilMode && (out - 1) * s >= input + pads[i]) out--;
      }
      if (!(out >= 1)) return undefined;
      dims.push(out);
    }
    const outputShape = intsAttr(c.node, 'output_shape');
    if (kind === 'convTranspose' && outputShape?.length === spatial) dims.splice(0, spatial, ...outputShape);
    const channels = kind === 'pool' ? x[1] : kind === 'conv' ? w![0] : w![1] * intAttr(c.node, 'group', 1);
    const y: Inferred = { shape: [x[0], channels, ...dims], dtype: c.input(0)?.dtype };
    return c.node.opType === 'MaxPool' ? [y, { shape: y.shape, dtype: 'I64' }] : [y];
  };
}

const globalPool: Rule = (c) => {
  const x = c.input(0);
  return x && x.shape.length >= 2 ? shaped([x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)], x.dtype) : undefined;
};

const gemm: Rule = (c) => {
  const a = c.input(0)?.shape;
  const b = c.input(1)?.shape;
  if (a?.length !== 2 || b?.length !== 2) return undefined;
  const m = intAttr(c.node, 'transA', 0) ? a[1] : a[0];
  const n = intAttr(c.node, 'transB', 0) ? b[0] : b[1];
  return shaped([m, n], c.input(0)?.dtype);
};

const matMul: Rule = (c) => {
  const a = c.input(0)?.shape;
  const b = c.input(1)?.shape;
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) return undefined;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return undefined;
  const shape = [...batch];
  if (a.length > 1) shape.push(a2[a2.length - 2]);
  if (b.length > 1) shape.push(b2[b2.length - 1]);
  return shaped(shape, c.input(0)?.dtype);
};

/** Reduce* axes: an attribute before the opset that moved them to input 1 (13 for ReduceSum, 18 others). */
function reduceAxes(c: RuleContext): number[] | undefined | 'unknown' {
  const fromInput = c.node.opType === 'ReduceSum' ? c.opset >= 13 : c.opset >= 18;
  if (!fromInput) return intsAttr(c.node, 'axes');
  if (!c.node.inputs[1]) return undefined;
  return c.input(1)?.values ?? 'unknown';
}

const reduce: Rule = (c) => {
  const x = c.input(0);
  const axes = reduceAxes(c);
  if (!x || axes === 'unknown') return undefined;
  const keep = intAttr(c.node, 'keepdims', 1) === 1;
  if ((!axes || axes.length === 0) && intAttr(c.node, 'noop_with_empty_axes', 0) === 1) return shaped(x.shape, x.dtype);
  const rank = x.shape.length;
  const set = new Set((axes && axes.length > 0 ? axes : x.shape.map((_, i) => i)).map((a) => normAxis(a, rank)));
  if (set.has(undefined)) return undefined;
  const shape = x.shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
  return shaped(shape, x.dtype);
};

const argReduce: Rule = (c) => {
  const x = c.input(0);
  const axis = x && normAxis(intAttr(c.node, 'axis', 0), x.shape.length);
  if (!x || axis === undefined) return undefined;
  const keep = intAttr(c.node, 'keepdims', 1) === 1;
  return shaped(x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])), 'I64');
};

function constantTensor(node: RuleContext['node']): Inferred | undefined {
  const a = node.attributes;
  const t = a.value as ConstantTensor | undefined;
  if (t && typeof t === 'object' && !Array.isArray(t)) return { shape: t.shape, dtype: t.dtype, values: t.values };
  if (typeof a.value_int === 'number') return { shape: [], dtype: 'I64', values: [a.value_int] };
  if (typeof a.value_float === 'number') return { shape: [], dtype: 'F32', values: [a.value_float] };
  const ints = intsAttr(node, 'value_ints');
  if (ints) return { shape: [ints.length], dtype: 'I64', values: ints };
  const floats = intsAttr(node, 'value_floats');
  if (floats) return { shape: [floats.length], dtype: 'F32', values: floats };
  return undefined;
}

const constantOfShape: Rule = (c) => {
  const shape = c.input(0)?.values;
  if (!shape || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return undefined;
  const fill = c.node.attributes.value as ConstantTensor | undefined;
  const dtype = fill?.dtype ?? 'F32';
  const n = numElements(shape);
  const values = n <= FOLD_LIMIT ? new Array<number>(n).fill(fill?.values?.[0] ?? 0) : undefined;
  return [{ shape, dtype, values }];
};

export const SHAPE_RULES: Readonly<Record<string, Rule>> = {
  ...Object.fromEntries([...SAME_SHAPE_OPS].map((op) => [op, sameShape])),
  ...Object.fromEntries([...BROADCAST_OPS].map((op) => [op, broadcast])),
  ...LAYOUT_RULES,
  Conv: windowed('conv'),
  ConvTranspose: windowed('convTranspose'),
  MaxPool: windowed('pool'),
  AveragePool: windowed('pool'),
  LpPool: windowed('pool'),
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matMul,
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL1: reduce,
  ReduceL2: reduce,
  ReduceLogSum: reduce,
  ReduceLogSumExp: reduce,
  ReduceSumSquare: reduce,
  ArgMax: argReduce,
  ArgMin: argReduce,
  Constant: (c) => [constantTensor(c.node)],
  ConstantOfShape: constantOfShape,
};
