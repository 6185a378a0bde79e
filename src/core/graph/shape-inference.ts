import { CoreError } from '../errors';
import { staticNodes } from './graph-ops';
import { topologicalOrder } from './graph-validate';
import type { ArchitectureGraph, GraphNode, ValueInfo } from './ir';
import { SHAPE_RULES } from './shape-rules';
import type { Inferred } from './shape-rules-tensor';

export type { Inferred } from './shape-rules-tensor';

export interface ShapeInferenceOptions {
  /** Concrete shapes of graph inputs by name; default: the declared shape, symbolic dims = 1. */
  inputShapes?: Record<string, number[]>;
  /**
   * Where no rule applies, take the declared `valueInfo`/output shape, with symbolic dims
   * (`batch`, `batch*12`) bound from the inputs. Only used when the concrete input shapes agree with
   * the declared ones on every static dim. Default true.
   */
  useValueInfo?: boolean;
}

export interface ShapeInference {
  order: GraphNode[];
  /** Inferred values by name: graph inputs, initializers, node outputs (absent when unknown). */
  values: Map<string, Inferred>;
  /** Nodes that depend only on constants and static shapes (computed once, cost nothing per run). */
  staticNodes: Set<GraphNode>;
}

/**
 * Propagates concrete shapes (and the contents of small static tensors, so that the exporter's
 * Shape/Gather/Concat → Reshape arithmetic resolves) through the graph in topological order.
 */
export function inferShapes(g: ArchitectureGraph, opts: ShapeInferenceOptions = {}): ShapeInference {
  const order = topologicalOrder(g);
  const values = new Map<string, Inferred>();
  const symbols = new Map<string, number>();
  let declaredAgree = true;
  for (const input of g.inputs) {
    const shape = concreteInputShape(input, opts.inputShapes?.[input.name]);
    input.shape.forEach((d, i) => {
      if (typeof d === 'string') symbols.set(d, shape[i]);
      else if (d !== shape[i]) declaredAgree = false;
    });
    values.set(input.name, { shape, dtype: input.dtype });
  }
  for (const t of g.initializers) values.set(t.name, { shape: t.shape, dtype: t.dtype });
  const declared = new Map<string, ValueInfo>();
  if (opts.useValueInfo !== false && declaredAgree) {
    for (const v of [...(g.valueInfo ?? []), ...g.outputs]) declared.set(v.name, v);
  }
  for (const node of order) {
    const rule = SHAPE_RULES[node.opType];
    const results = rule?.({ node, opset: g.opset, input: (i) => (node.inputs[i] ? values.get(node.inputs[i]) : undefined) });
    node.outputs.forEach((name, j) => {
      if (name === '') return;
      const inferred = results?.[j] ?? fromDeclared(declared.get(name), symbols);
      if (inferred && inferred.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) values.set(name, inferred);
    });
  }
  return { order, values, staticNodes: staticNodes(g, order) };
}

function concreteInputShape(input: ValueInfo, given: number[] | undefined): number[] {
  if (!given) return input.shape.map((d) => (typeof d === 'number' ? d : 1));
  if (given.length !== input.shape.length || !given.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `input shape [${given.join(', ')}] for "${input.name}" must have ${input.shape.length} positive integer dims (declared [${input.shape.join(', ')}])`,
      { input: input.name, shape: given },
    );
  }
  return [...given];
}

/** A declared shape with symbolic dims evaluated (`batch*12` with batch = 2 → 24). */
function fromDeclared(info: ValueInfo | undefined, symbols: Map<string, number>): Inferred | undefined {
  if (!info) return undefined;
  const shape: number[] = [];
  for (const d of info.shape) {
    if (typeof d === 'number') {
      shape.push(d);
      continue;
    }
    let product = 1;
    for (const factor of d.split('*').map((f) => f.trim())) {
      const v = /^\d+$/.test(factor) ? Number(factor) : symbols.get(factor);
      if (v === undefined) return undefined;
      product *= v;
    }
    shape.push(product);
  }
  return { shape, dtype: info.dtype };
}
