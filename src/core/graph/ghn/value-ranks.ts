import type { ArchitectureGraph, AttributeValue, GraphNode } from '../ir';

/**
 * Rank (number of dimensions) inference over an op graph, enough to tell BatchNorm2d from
 * BatchNorm1d/3d (only BatchNorm2d is a GHN node). Unknown ranks are simply absent; callers decide the default.
 * The lengths of 1-D integer tensors (shape vectors) are tracked too, so that the dynamic
 * `Reshape(x, Concat(Unsqueeze(...), ...))` pattern of the exporter resolves.
 */
export function inferValueRanks(graph: ArchitectureGraph): Map<string, number> {
  const ranks = new Map<string, number>();
  const lengths = new Map<string, number>();
  for (const v of graph.inputs) ranks.set(v.name, v.shape.length);
  for (const init of graph.initializers) {
    ranks.set(init.name, init.shape.length);
    if (init.shape.length === 1) lengths.set(init.name, init.shape[0]);
  }
  for (const node of graph.nodes) {
    const rank = nodeRank(node, ranks, lengths);
    const length = nodeVectorLength(node, ranks, lengths);
    for (const out of node.outputs) {
      if (out === '') continue;
      if (rank !== undefined) ranks.set(out, rank);
      if (length !== undefined) lengths.set(out, length);
    }
  }
  return ranks;
}

const SAME_AS_FIRST = new Set([
  'Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Clip', 'Erf', 'Sqrt', 'Neg', 'Exp', 'Log', 'Tanh',
  'Abs', 'Cast', 'CastLike', 'Identity', 'Dropout', 'BatchNormalization', 'LayerNormalization',
  'InstanceNormalization', 'GroupNormalization', 'Softmax', 'LogSoftmax', 'LeakyRelu', 'Gelu', 'Elu',
  'Selu', 'Celu', 'Softplus', 'Softsign', 'Mish', 'Floor', 'Ceil', 'Round', 'Sign', 'Not',
  'Reciprocal', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool',
  'GlobalMaxPool', 'GlobalLpPool', 'LRN', 'Pad', 'Resize', 'Upsample', 'Slice', 'Tile', 'Transpose',
  'CumSum', 'Trilu', 'DepthToSpace', 'SpaceToDepth', 'Split', 'TopK', 'Concat', 'ScatterND',
  'ScatterElements', 'GatherElements', 'Shrink', 'ThresholdedRelu', 'HardMax', 'Hardmax',
]);

const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual',
  'Where', 'Max', 'Min', 'Sum', 'Mean', 'And', 'Or', 'Xor', 'Mod', 'PRelu', 'BitShift',
]);

function nodeRank(node: GraphNode, ranks: Map<string, number>, lengths: Map<string, number>): number | undefined {
  const rankOf = (i: number): number | undefined => {
    const name = node.inputs[i];
    return name === undefined || name === '' ? undefined : ranks.get(name);
  };
  const op = node.opType;
  if (op === 'Constant') return constantRank(node.attributes);
  if (SAME_AS_FIRST.has(op)) {
    if (op === 'Concat') return firstKnown(node.inputs.map((_, i) => rankOf(i)));
    return rankOf(0);
  }
  if (BROADCAST.has(op)) {
    const all = node.inputs.map((_, i) => rankOf(i));
    return all.some((r) => r === undefined) ? undefined : Math.max(...(all as number[]));
  }
  switch (op) {
    case 'Gemm':
    case 'Flatten':
    case 'NonZero':
      return 2;
    case 'Shape':
    case 'Range':
      return 1;
    case 'Size':
      return 0;
    case 'MatMul':
      return matMulRank(rankOf(0), rankOf(1));
    case 'Reshape':
    case 'ConstantOfShape':
      return lengths.get(node.inputs[op === 'Reshape' ? 1 : 0]);
    case 'Expand': {
      const r = rankOf(0);
      const n = lengths.get(node.inputs[1]);
      return r === undefined || n === undefined ? undefined : Math.max(r, n);
    }
    case 'Gather': {
      const r = rankOf(0);
      const k = rankOf(1);
      return r === undefined || k === undefined ? undefined : r - 1 + k;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const r = rankOf(0);
      const axes = axesOf(node, lengths);
      if (r === undefined || axes === undefined) return undefined;
      return op === 'Squeeze' ? r - axes : r + axes;
    }
    case 'ArgMax':
    case 'ArgMin':
      return reducedRank(rankOf(0), node, 1, lengths);
    default:
      if (op.startsWith('Reduce')) return reducedRank(rankOf(0), node, undefined, lengths);
      return undefined;
  }
}

/** Length of a 1-D output (shape vectors), when known. */
function nodeVectorLength(node: GraphNode, ranks: Map<string, number>, lengths: Map<string, number>): number | undefined {
  switch (node.opType) {
    case 'Constant': {
      const value = node.attributes.value;
      if (isTensor(value) && value.shape.length === 1) return value.shape[0];
      const ints = node.attributes.value_ints ?? node.attributes.value_floats;
      return Array.isArray(ints) ? ints.length : undefined;
    }
    case 'Shape':
      return node.attributes.start === undefined && node.attributes.end === undefined
        ? ranks.get(node.inputs[0])
        : undefined;
    case 'Unsqueeze':
      return ranks.get(node.inputs[0]) === 0 ? 1 : undefined;
    case 'Concat': {
      const parts = node.inputs.map((n) => lengths.get(n));
      return parts.every((p) => p !== undefined) ? (parts as number[]).reduce((a, b) => a + b, 0) : undefined;
    }
    case 'Cast':
    case 'Identity':
      return lengths.get(node.inputs[0]);
    default:
      return undefined;
  }
}

function constantRank(attributes: Record<string, AttributeValue>): number | undefined {
  const value = attributes.value;
  if (isTensor(value)) return value.shape.length;
  if (attributes.value_float !== undefined || attributes.value_int !== undefined) return 0;
  if (attributes.value_floats !== undefined || attributes.value_ints !== undefined) return 1;
  return undefined;
}

function isTensor(value: AttributeValue | undefined): value is Extract<AttributeValue, { shape: number[] }> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matMulRank(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === 1 && b === 1) return 0;
  if (a === 1) return b - 1;
  if (b === 1) return a - 1;
  return Math.max(a, b);
}

/** The number of axes of Squeeze/Unsqueeze (attribute before opset 13, input 1 after). */
function axesOf(node: GraphNode, lengths: Map<string, number>): number | undefined {
  const attr = node.attributes.axes;
  if (Array.isArray(attr)) return attr.length;
  const input = node.inputs[1];
  return input ? lengths.get(input) : undefined;
}

function reducedRank(
  rank: number | undefined,
  node: GraphNode,
  fixedAxes: number | undefined,
  lengths: Map<string, number>,
): number | undefined {
  if (rank === undefined) return undefined;
  const keepdims = node.attributes.keepdims;
  if (keepdims === undefined || keepdims === 1) return rank;
  if (fixedAxes !== undefined) return rank - fixedAxes;
  const axes = axesOf(node, lengths);
  if (axes === undefined) return node.inputs[1] ? undefined : 0;
  return rank - axes;
}

function firstKnown(values: (number | undefined)[]): number | undefined {
  return values.find((v) => v !== undefined);
}
