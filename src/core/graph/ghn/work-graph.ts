import type { Digraph } from './digraph';
import type { WalkNode } from './walk-graph';

/** Node records and the graph over their indices, as the builders rewrite them. */
export interface WorkGraph {
  nodes: WalkNode[];
  graph: Digraph;
}

export const INPUT_NODE: WalkNode = { kind: 'op', name: 'input' };

export function isOp(node: WalkNode): boolean {
  return node.kind === 'op';
}

/** Appends a node record (and its graph node); returns its index. */
export function appendNode(work: WorkGraph, node: WalkNode): number {
  work.nodes.push({ ...node });
  return work.graph.addNode();
}

/** The nodes for which `keep` holds, in their current order, with the edges among them. */
export function keepNodes(work: WorkGraph, keep: (index: number) => boolean): WorkGraph {
  const order = [...work.nodes.keys()].filter(keep);
  return reorder(work, order);
}

/** The nodes listed in `order` (old indices), reindexed so that order[k] becomes k. */
export function reorder(work: WorkGraph, order: readonly number[]): WorkGraph {
  return { nodes: order.map((i) => work.nodes[i]), graph: work.graph.select(order) };
}
