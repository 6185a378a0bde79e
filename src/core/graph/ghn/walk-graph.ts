import { CoreError } from '../../errors';
import type { ArchitectureGraph, GraphNode } from '../ir';
import { Digraph } from './digraph';
import type { GhnBuilderName } from './ghn-graph';
import { decompositionNames, isDifferentiableInput, isDifferentiableOp, opNodeName } from './onnx-autograd';
import { isNodeRole, moduleOf, type ParamRole } from './param-roles';
import type { ParamTable } from './param-table';

/** A node of the walk graph: a parameter, or an op standing for one autograd function. */
export interface WalkNode {
  kind: 'param' | 'op';
  /** Parameter name, or the autograd op name without `Backward` (`Add`, `Mean`, `Relu`, `T`, ...). */
  name: string;
  /** Parameters: role, dims and module path (the name without its last component). */
  role?: ParamRole;
  shape?: number[];
  module?: string;
  /** Ops: pooling kernel and Mean keepdim, as autograd saves them. */
  kernel?: number[];
  keepdim?: boolean;
  /** Ops: the walk node that carries the first input (the SE-gate test of the Mul rule). */
  firstInputCarrier?: number;
}

export interface WalkGraph {
  nodes: WalkNode[];
  graph: Digraph;
}

/**
 * The equivalent of the official autograd walk: live values, reached nodes,
 * then one pass over the reached nodes in file order. `roles` gives every parameter's role; under
 * ppuda, leaves that are not ppuda nodes are dropped and shared weights fail as in the official code.
 */
export function buildWalkGraph(
  arch: ArchitectureGraph,
  params: ParamTable,
  roles: ReadonlyMap<string, ParamRole>,
  builder: GhnBuilderName,
): WalkGraph {
  const isParam = (v: string): boolean => params.shapes.has(v);
  const ops = arch.nodes.filter((n) => !params.aliasNodes.has(n));
  const producers = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of ops) for (const v of n.outputs) producers.set(v, n);
  for (const n of ops) {
    for (const v of new Set(n.inputs)) {
      const list = consumers.get(v);
      if (list) list.push(n);
      else consumers.set(v, [n]);
    }
  }

  const live = new Set<string>(params.shapes.keys());
  for (const n of ops) {
    if (!isDifferentiableOp(n)) continue;
    if (n.inputs.some((v, i) => v !== '' && live.has(v) && isDifferentiableInput(n, i))) {
      for (const out of n.outputs) if (out !== '') live.add(out);
    }
  }
  const liveInputs = (n: GraphNode): { value: string; position: number }[] =>
    n.inputs
      .map((value, position) => ({ value, position }))
      .filter(({ value, position }) => value !== '' && live.has(value) && isDifferentiableInput(n, position));

  const reached = new Set<GraphNode>();
  const pending: GraphNode[] = [];
  const reach = (value: string): void => {
    const p = producers.get(value);
    if (p && !isParam(value) && live.has(value) && !reached.has(p)) {
      reached.add(p);
      pending.push(p);
    }
  };
  const outputs = builder === 'ppuda' ? arch.outputs.slice(0, 1) : arch.outputs;
  for (const o of outputs) reach(o.name);
  while (pending.length > 0) {
    const n = pending.pop() as GraphNode;
    for (const { value } of liveInputs(n)) reach(value);
  }

  const names = decompositionNames(ops, producers, consumers);
  const nodes: WalkNode[] = [];
  const graph = new Digraph();
  const paramNodes = new Map<string, number>();
  const carrier = new Map<string, number>();
  const addNode = (node: WalkNode): number => {
    nodes.push(node);
    return graph.addNode();
  };
  const paramNode = (name: string): number => {
    let index = paramNodes.get(name);
    if (index === undefined) {
      const role = roles.get(name) as ParamRole;
      index = addNode({ kind: 'param', name, role, shape: params.shapes.get(name), module: moduleOf(name) });
      paramNodes.set(name, index);
    } else if (builder === 'ppuda') {
      throw new CoreError(
        'GHN_GRAPH_UNSUPPORTED',
        `the ppuda graph builder does not support shared weights ('${name}' is used by two ops)`,
        { parameter: name },
      );
    }
    return index;
  };
  const keepsLeaf = (name: string): boolean =>
    builder === 'ghn3' || isNodeRole(roles.get(name) as ParamRole, builder);

  for (const n of ops) {
    if (!reached.has(n)) continue;
    const leaves = unique(leafInputs(n, isParam)).filter(keepsLeaf);
    const sources: number[] = [];
    for (const { value } of liveInputs(n)) {
      const c = isParam(value) ? undefined : carrier.get(value);
      if (c !== undefined) sources.push(c);
    }
    // n's own node(s) first, as the official walk creates a function's node before visiting its inputs.
    let start: number;
    let carrierOfOutputs: number;
    if (leaves.length > 0) {
      start = paramNode(leaves[0]);
      carrierOfOutputs = start;
      for (const leaf of leaves.slice(1)) {
        carrierOfOutputs = paramNode(leaf);
        if (leaf.includes('bias')) graph.addEdge(start, carrierOfOutputs);
        else graph.addEdge(carrierOfOutputs, start);
      }
    } else {
      const named = opNodeName(n);
      const first = n.inputs[0];
      start = addNode({
        kind: 'op',
        name: names.get(n) ?? named.name,
        kernel: named.kernel,
        keepdim: named.keepdim,
        firstInputCarrier: first && !isParam(first) ? carrier.get(first) : undefined,
      });
      carrierOfOutputs = start;
    }
    if (n.opType === 'Gemm' && isParam(n.inputs[1] ?? '')) {
      // F.linear's transpose: autograd represents it by the weight itself (ppuda: a bare T op).
      const weight = n.inputs[1];
      sources.push(keepsLeaf(weight) ? paramNode(weight) : addNode({ kind: 'op', name: 'T' }));
    }
    for (const u of sources) graph.addEdge(u, start);
    for (const out of n.outputs) if (out !== '') carrier.set(out, carrierOfOutputs);
  }
  return { nodes, graph };
}

/** Parameter inputs that autograd would list as the function's own leaves. */
function leafInputs(n: GraphNode, isParam: (v: string) => boolean): string[] {
  const at = (i: number): string[] => (n.inputs[i] && isParam(n.inputs[i]) ? [n.inputs[i]] : []);
  switch (n.opType) {
    case 'BatchNormalization':
    case 'LayerNormalization':
      return [...at(1), ...at(2)];
    case 'Gemm':
      return at(2);
    default:
      return n.inputs.filter((v, i) => v !== '' && isParam(v) && isDifferentiableInput(n, i));
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
