import type { ArchitectureGraph, GraphNode, Initializer } from '../ir';

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
const BUFFER_SUFFIXES = ['running_mean', 'running_var', 'num_batches_tracked'];

/**
 * The rule for ONNX initializers when no trainable list is known: every float tensor except
 * BatchNormalization inputs 3–4, running statistics and exporter constants (names with `::`).
 * `bnStatistics` holds the names used as BatchNormalization inputs 3–4.
 */
export function looksLikeParameter(
  name: string,
  dtype: Initializer['dtype'],
  bnStatistics: ReadonlySet<string>,
): boolean {
  if (!FLOAT_DTYPES.has(dtype)) return false;
  if (name.includes('::') || bnStatistics.has(name)) return false;
  return !BUFFER_SUFFIXES.some((s) => name.endsWith(s));
}

/** Names consumed as BatchNormalization running mean/variance. */
export function batchNormStatistics(nodes: readonly GraphNode[]): Set<string> {
  const names = new Set<string>();
  for (const n of nodes) {
    if (n.opType !== 'BatchNormalization') continue;
    for (const v of n.inputs.slice(3, 5)) if (v) names.add(v);
  }
  return names;
}

export interface ParamTable {
  /** Every parameter value, Identity aliases included, with its dims. */
  shapes: Map<string, number[]>;
  /** Identity nodes whose output is a de-duplicated parameter: not ops of the walk. */
  aliasNodes: Set<GraphNode>;
}

/**
 * Collects the trainable parameters of a graph. An `Identity(initializer)` node is how the exporter
 * writes a tensor equal to an earlier one; its output keeps the dropped state_dict name and counts
 * as a parameter of its own.
 */
export function collectParams(graph: ArchitectureGraph, trainableNames?: readonly string[]): ParamTable {
  const trainable = trainableNames ? new Set(trainableNames) : undefined;
  const bnStatistics = batchNormStatistics(graph.nodes);
  const shapes = new Map<string, number[]>();
  const initializers = new Map<string, Initializer>();
  for (const init of graph.initializers) {
    initializers.set(init.name, init);
    const isParam = trainable ? trainable.has(init.name) : init.isParameter;
    if (isParam) shapes.set(init.name, init.shape);
  }
  const aliasNodes = new Set<GraphNode>();
  const aliasSource = new Map<string, Initializer>();
  for (const node of graph.nodes) {
    if (node.opType !== 'Identity' || node.inputs.length !== 1 || node.outputs.length !== 1) continue;
    const source = initializers.get(node.inputs[0]) ?? aliasSource.get(node.inputs[0]);
    if (!source) continue;
    const alias = node.outputs[0];
    aliasSource.set(alias, source);
    const isParam = trainable
      ? trainable.has(alias)
      : shapes.has(node.inputs[0]) && looksLikeParameter(alias, source.dtype, bnStatistics);
    if (isParam) {
      shapes.set(alias, source.shape);
      aliasNodes.add(node);
    }
  }
  return { shapes, aliasNodes };
}
