import { CoreError } from '../errors';
import { numElements } from '../tensor/dtypes';
import { DATA_MOVEMENT_OPS } from './graph-ops';
import type { ArchitectureGraph, GraphNode, ValueInfo } from './ir';
import { inferShapes, type Inferred } from './shape-inference';

export interface GraphSummaryOptions {
  /** Concrete shape of the first graph input; default its declared shape with symbolic dims (batch) = 1. */
  inputShape?: number[];
}

export interface GraphSummary {
  /** Elements of the trainable parameters (torchvision's `num_params`). */
  parameterCount: number;
  /** Elements of the buffers (running statistics, counters). */
  bufferCount: number;
  /** state_dict entries (parameters and buffers). */
  initializerCount: number;
  nodeCount: number;
  /** Nodes per ONNX op type, keys sorted. */
  opHistogram: Record<string, number>;
  /** Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul (what torchvision calls "GFLOPS"). */
  macs: number;
  /** 2 × macs + one FLOP per output element of arithmetic ops (see GRAPH_FORMAT.md, "FLOPs"). */
  flops: number;
  /** Arithmetic nodes whose FLOPs were skipped because a shape could not be inferred. */
  flopsUnknownNodes: number;
  /** Graph inputs with the concrete shapes used. */
  inputs: ValueInfo[];
  /** The value (input, initializer or node output) with the most elements at the concrete shape; null when none is known. */
  largestValue: { name: string; elements: number } | null;
  /** Graph outputs with inferred shapes (declared ones where inference failed). */
  outputs: ValueInfo[];
}

/**
 * Counts and cost of a graph at a concrete input shape. FLOP convention: Conv/ConvTranspose/Gemm/
 * MatMul cost 2 per multiply-accumulate plus 1 per output element for a bias; windowed pools one
 * per window element per output; global pools and reductions one per input element; other
 * arithmetic ops (activations, elementwise, normalisations, softmax) one per output element; data
 * movement (reshape, transpose, concat, slice, gather, cast, ...) and static shape arithmetic
 * cost nothing.
 */
export function summarizeGraph(g: ArchitectureGraph, opts: GraphSummaryOptions = {}): GraphSummary {
  const inputShapes: Record<string, number[]> = {};
  if (opts.inputShape) {
    if (g.inputs.length === 0) throw new CoreError('INVALID_ARGUMENT', 'inputShape was given but the graph has no inputs');
    inputShapes[g.inputs[0].name] = opts.inputShape;
  }
  const inference = inferShapes(g, { inputShapes });
  const values = inference.values;
  let macs = 0;
  let other = 0;
  let flopsUnknownNodes = 0;
  const opHistogram: Record<string, number> = {};
  for (const op of g.nodes.map((n) => n.opType).sort()) opHistogram[op] = (opHistogram[op] ?? 0) + 1;
  for (const node of inference.order) {
    if (inference.staticNodes.has(node) || DATA_MOVEMENT_OPS.has(node.opType)) continue;
    const cost = nodeCost(node, (name) => (name ? values.get(name) : undefined));
    if (!cost) {
      flopsUnknownNodes++;
      continue;
    }
    macs += cost.macs;
    other += cost.other;
  }
  let parameterCount = 0;
  let bufferCount = 0;
  for (const t of g.initializers) {
    if (t.isParameter) parameterCount += numElements(t.shape);
    else bufferCount += numElements(t.shape);
  }
  const concrete = (v: ValueInfo): ValueInfo => {
    const shape = values.get(v.name)?.shape;
    return { name: v.name, dtype: v.dtype, shape: shape ? [...shape] : [...v.shape] };
  };
  return {
    parameterCount,
    bufferCount,
    initializerCount: g.initializers.length,
    nodeCount: g.nodes.length,
    opHistogram,
    macs,
    flops: 2 * macs + other,
    flopsUnknownNodes,
    largestValue: largestOf(values),
    inputs: g.inputs.map(concrete),
    outputs: g.outputs.map(concrete),
  };
}

function largestOf(values: Map<string, Inferred>): { name: string; elements: number } | null {
  let largest: { name: string; elements: number } | null = null;
  for (const [name, v] of values) {
    const elements = numElements(v.shape);
    if (!largest || elements > largest.elements) largest = { name, elements };
  }
  return largest;
}

interface NodeCost {
  macs: number;
  other: number;
}

const WINDOW_POOLS = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const WHOLE_INPUT_OPS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'ArgMax', 'ArgMin']);

/** Cost of one node, or undefined when a shape it needs is unknown. */
function nodeCost(node: GraphNode, lookup: (name: string | undefined) => Inferred | undefined): NodeCost | undefined {
  const input = (i: number): number[] | undefined => lookup(node.inputs[i])?.shape;
  const y = lookup(node.outputs[0])?.shape;
  const op = node.opType;
  if (op === 'Conv' || op === 'ConvTranspose') {
    const w = input(1);
    const x = input(0);
    if (!y || !w || !x) return undefined;
    const perOutput = numElements(w.slice(1));
    // ConvTranspose: every input element meets C_out/group × kernel weights.
    const macs = op === 'Conv' ? numElements(y) * perOutput : numElements(x) * perOutput;
    return { macs, other: node.inputs[2] ? numElements(y) : 0 };
  }
  if (op === 'Gemm' || op === 'MatMul') {
    const a = input(0);
    if (!y || !a) return undefined;
    const k = op === 'Gemm' && node.attributes.transA === 1 ? a[0] : a[a.length - 1];
    return { macs: numElements(y) * k, other: op === 'Gemm' && node.inputs[2] ? numElements(y) : 0 };
  }
  if (WINDOW_POOLS.has(op)) {
    const kernel = node.attributes.kernel_shape;
    if (!y || !Array.isArray(kernel)) return undefined;
    return { macs: 0, other: numElements(y) * numElements(kernel as number[]) };
  }
  if (WHOLE_INPUT_OPS.has(op) || op.startsWith('Reduce')) {
    const x = input(0);
    return x ? { macs: 0, other: numElements(x) } : undefined;
  }
  if (op === 'Einsum') return undefined;
  return y ? { macs: 0, other: numElements(y) } : undefined;
}
