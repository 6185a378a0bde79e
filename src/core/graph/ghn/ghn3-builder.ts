import { CoreError } from '../../errors';
import { SQUEEZENET, SWIN_TRANSFORMER, VISION_TRANSFORMER } from './model-class';
import { isNodeRole } from './param-roles';
import { appendNode, INPUT_NODE, isOp, keepNodes, reorder, type WorkGraph } from './work-graph';
import type { WalkNode } from './walk-graph';

const GHN3_OPS = new Set(['Mean', 'AdaptiveAvgPool2D', 'MaxPool2DWithIndices', 'AvgPool2D', 'Softmax', 'Mul', 'Add', 'Cat']);
const HEAD_PREFIXES = ['classifier', 'fc', 'head'];
const SE_GATE_PREFIXES = ['hard', 'sigmoid', 'relu'];

/**
 * The ghn3 builder's steps on the walk graph: filters, weight-edge and softmax fixes, Swin rewiring, input
 * node, topological sort, ViT pos_enc split and SqueezeNet head rotation. Returns the nodes in
 * their final order, with the graph indexed accordingly.
 */
export function ghn3Order(walk: WorkGraph, modelClass: string | undefined): WorkGraph {
  let work = firstFilter(walk);
  fixWeightEdges(work);
  fixSoftmaxEdges(work);
  if (modelClass === SWIN_TRANSFORMER) fixSwinEdges(work);
  work = dropSingleInputJoins(work);

  const input = appendNode(work, INPUT_NODE);
  for (let i = 0; i < input; i++) {
    if (work.graph.inDegree(i) === 0 && work.nodes[i].name.includes('weight')) work.graph.addEdge(input, i);
  }
  // The official code catches networkx's cycle error and keeps the order (Swin-V2, shared weights).
  const order = work.graph.topologicalOrder() ?? [...work.nodes.keys()];
  if (modelClass === VISION_TRANSFORMER) splitPosEmbedding(work, order);
  const result = reorder(work, order);
  if (modelClass === SQUEEZENET) rotateSqueezeNetHead(result.nodes);
  return result;
}

/** ghn3's first filter: keep ghn3 parameter nodes and the supported ops that pass their structural tests. */
function firstFilter(walk: WorkGraph): WorkGraph {
  const { nodes, graph } = walk;
  const hasSigmoid = nodes.some((n) => /sigmoid|swish/.test(n.name.toLowerCase()));
  const inDegree0 = nodes.map((_, i) => graph.inDegree(i));
  const memo = new Map<number, boolean>();

  const survives = (i: number): boolean => {
    const known = memo.get(i);
    if (known !== undefined) return known;
    memo.set(i, false); // guards against cycles while deciding
    const result = decide(i);
    memo.set(i, result);
    return result;
  };
  const decide = (i: number): boolean => {
    const node = nodes[i];
    if (node.kind === 'param') return isNodeRole(node.role ?? { kind: 'none' }, 'ghn3');
    if (!GHN3_OPS.has(node.name)) return false;
    switch (node.name) {
      case 'Mul': {
        const gate = node.firstInputCarrier === undefined ? '' : nodes[node.firstInputCarrier].name.toLowerCase();
        return hasSigmoid && SE_GATE_PREFIXES.some((p) => gate.startsWith(p)) && !feedsHead(i);
      }
      case 'Mean':
        return !hasSigmoid || feedsHead(i);
      case 'Add':
      case 'Cat':
        return inDegree0[i] >= 2;
      default:
        return true;
    }
  };
  /** Whether one of the first surviving nodes downstream is the classifier head. */
  const feedsHead = (i: number): boolean => {
    const seen = new Set<number>([i]);
    const stack = graph.successors(i);
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (seen.has(s)) continue;
      seen.add(s);
      if (survives(s)) {
        const name = nodes[s].name.toLowerCase();
        if (HEAD_PREFIXES.some((p) => name.startsWith(p))) return true;
      } else {
        stack.push(...graph.successors(s));
      }
    }
    return false;
  };

  const keep = nodes.map((_, i) => survives(i));
  keep.forEach((k, i) => k || graph.bridge(i));
  return keepNodes(walk, (i) => keep[i]);
}

/** The official weight-edge fix, literally: weights without inputs swap places with their same-module successor. */
function fixWeightEdges({ nodes, graph }: WorkGraph): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (graph.inDegree(i) > 0 || !node.name.includes('weight')) continue;
    for (const o of graph.successors(i)) {
      const target = nodes[o];
      const sameLayer = node.kind === 'param' && target.kind === 'param' && node.module === target.module;
      const qkv = graph.inDegree(i) === 0 && target.name.toLowerCase().includes('softmax');
      if (!sameLayer && !qkv) continue;
      const outDegree = graph.outDegree(i);
      if (graph.predecessors(o).every((p) => p === i)) continue;
      [nodes[i], nodes[o]] = [nodes[o], nodes[i]];
      graph.removeEdge(i, o);
      graph.addEdge(o, i);
      if (outDegree === 1) {
        for (const s of graph.successors(o)) {
          if (s === i) continue;
          graph.removeEdge(o, s);
          graph.addEdge(i, s);
        }
      }
    }
  }
}

/** The official softmax fix, literally; path counts come from a snapshot taken before the step. */
function fixSoftmaxEdges({ nodes, graph }: WorkGraph): void {
  const snapshot = graph.clone();
  const acyclic = !snapshot.hasCycle();
  for (let i = 0; i < nodes.length; i++) {
    if (!nodes[i].name.toLowerCase().includes('softmax')) continue;
    for (const o of graph.successors(i)) {
      for (const j of graph.predecessors(o).filter((p) => p !== i)) {
        const paths = snapshot.countPaths(j, o, 2, acyclic);
        const fromSoftmax = graph.hasEdge(i, j);
        if (paths > 1 || !fromSoftmax) graph.removeEdge(j, o);
        if (paths === 1 && !fromSoftmax) graph.addEdge(j, i);
      }
    }
  }
}

/** The official Swin rewiring (SwinTransformer only), literally. */
function fixSwinEdges({ nodes, graph }: WorkGraph): void {
  for (let i = 0; i < nodes.length; i++) {
    const name = nodes[i].name;
    if (name.toLowerCase().endsWith('norm.weight')) {
      for (const o of graph.successors(i)) {
        const next = nodes[o];
        if (!next.name.endsWith('norm1.weight') && !(isOp(next) && next.name === 'Add')) continue;
        graph.removeEdge(i, o);
        const target = name.split('norm').join('reduction');
        const j = nodes.findIndex((n) => n.name.includes(target));
        if (j >= 0) graph.addEdge(i, j);
      }
    } else if (name.toLowerCase().endsWith('attn.proj.bias')) {
      for (const o of graph.successors(i)) {
        if (!nodes[o].name.endsWith('reduction.weight')) continue;
        graph.removeEdge(i, o);
        for (const o2 of graph.successors(o)) {
          if (isOp(nodes[o2]) && nodes[o2].name === 'Add') graph.addEdge(i, o2);
        }
      }
    }
  }
}

/** ghn3's second filter: sums and concatenations left with fewer than two inputs. */
function dropSingleInputJoins(work: WorkGraph): WorkGraph {
  const { nodes, graph } = work;
  const drop = nodes.map((n, i) => isOp(n) && (n.name === 'Add' || n.name === 'Cat') && graph.inDegree(i) < 2);
  drop.forEach((d, i) => d && graph.bridge(i));
  return keepNodes(work, (i) => !drop[i]);
}

/**
 * The ViT split: a new sum node right after each ViT pos_embedding takes over all its edges, and
 * the pos_embedding keeps only the edge to it (`order` is updated in place).
 */
function splitPosEmbedding(work: WorkGraph, order: number[]): void {
  for (let k = 0; k < order.length; k++) {
    const p = order[k];
    if (work.nodes[p].role?.kind !== 'vit_pos') continue;
    const sum = appendNode(work, { kind: 'op', name: 'Add' });
    work.graph.moveEdges(p, sum);
    work.graph.addEdge(p, sum);
    order.splice(k + 1, 0, sum);
  }
}

/** SqueezeNet head: rotate the records of the last three nodes (`W, b, Mean` → `Mean, W, b`), edges unchanged. */
function rotateSqueezeNetHead(nodes: WalkNode[]): void {
  const n = nodes.length;
  const last = nodes[n - 1];
  if (n < 3 || !(isOp(last) && last.name === 'Mean') || !nodes[n - 3].name.startsWith('classifier')) {
    throw new CoreError(
      'GHN_GRAPH_UNSUPPORTED',
      'SqueezeNet graph does not end with classifier weight, bias and the global mean as the official builder expects',
    );
  }
  nodes.splice(n - 3, 0, last);
  nodes.pop();
}
