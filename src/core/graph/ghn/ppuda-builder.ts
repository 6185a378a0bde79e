import { CoreError } from '../../errors';
import { appendNode, INPUT_NODE, isOp, keepNodes, reorder, type WorkGraph } from './work-graph';

/** Op names in ppuda's MODULES table; every other op node is removed by its filter. */
const PPUDA_OPS = new Set([
  'MaxPool2DWithIndices', 'AvgPool2D', 'AdaptiveAvgPool2D', 'Mean', 'Mul', 'Clone', 'Add', 'Cat', 'input',
]);

/**
 * The ppuda builder's steps on the ppuda walk graph: Linear fix, input node, topological sort and
 * the filter sweeps. Returns the nodes in their final order.
 */
export function ppudaOrder(walk: WorkGraph): WorkGraph {
  fixLinearEdges(walk);
  const sources = walk.nodes.map((_, i) => i).filter((i) => walk.graph.inDegree(i) === 0);
  if (sources.length !== 1) {
    throw new CoreError(
      'GHN_GRAPH_UNSUPPORTED',
      `the ppuda graph builder needs exactly one node without inputs, found ${sources.length}`,
      { nodes: sources.slice(0, 10).map((i) => walk.nodes[i].name) },
    );
  }
  const input = appendNode(walk, INPUT_NODE);
  walk.graph.addEdge(input, sources[0]);
  const order = walk.graph.topologicalOrder() ?? [...walk.nodes.keys()];
  return filterSweeps(reorder(walk, order));
}

/** Every nn.Linear weight W: the predecessors of each successor o move onto W, then W→o. */
function fixLinearEdges({ nodes, graph }: WorkGraph): void {
  nodes.forEach((node, i) => {
    if (node.kind !== 'param' || node.role?.kind !== 'linear' || !node.name.includes('.weight')) return;
    for (const o of graph.successors(i)) {
      const preds = graph.predecessors(o);
      for (const p of preds) graph.addEdge(p, i);
      for (const p of preds) graph.removeEdge(p, o);
      graph.addEdge(i, o);
    }
  });
}

/**
 * The official filter: sweeps for Mul, Clone and the unsupported ops (all dropped), Mean (kept iff
 * keepdim), then Add and Cat, each kept iff its current in-degree is at least 2. A sweep bridges
 * as it goes and deletes its dropped nodes at the end, so edges from nodes dropped earlier in the
 * same sweep still count.
 */
function filterSweeps(work: WorkGraph): WorkGraph {
  const unconditional = (i: number): boolean => {
    const n = work.nodes[i];
    return isOp(n) && (n.name === 'Mul' || n.name === 'Clone' || !PPUDA_OPS.has(n.name));
  };
  work = sweep(work, unconditional);
  work = sweep(work, (i) => isOp(work.nodes[i]) && work.nodes[i].name === 'Mean' && work.nodes[i].keepdim !== true);
  for (const join of ['Add', 'Cat']) {
    const current = work;
    work = sweep(current, (i) => isOp(current.nodes[i]) && current.nodes[i].name === join && current.graph.inDegree(i) < 2);
  }
  return work;
}

/** Visits nodes in index order, bridging each one `drop` selects, then removes them all. */
function sweep(work: WorkGraph, drop: (index: number) => boolean): WorkGraph {
  const dropped = new Set<number>();
  for (let i = 0; i < work.nodes.length; i++) {
    if (drop(i)) {
      work.graph.bridge(i);
      dropped.add(i);
    }
  }
  return dropped.size === 0 ? work : keepNodes(work, (i) => !dropped.has(i));
}
