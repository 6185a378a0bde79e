import type { Digraph } from './digraph';
import type { GhnBuilderName, GhnEdge, GhnNode, GhnNodeInfo, GhnOp } from './ghn-graph';
import { autogradName } from './onnx-autograd';
import { moduleTypeOf, paramOp, type ParamRole } from './param-roles';
import type { WalkNode } from './walk-graph';

/** The op of a parameter-free node (the official MODULES table; anything else is named `sum`). */
const OP_NODE_OPS: Readonly<Record<string, GhnOp>> = {
  input: 'input',
  Mean: 'glob_avg',
  AdaptiveAvgPool2D: 'glob_avg',
  MaxPool2DWithIndices: 'max_pool',
  AvgPool2D: 'avg_pool',
  Softmax: 'msa',
  Clone: 'msa',
  Mul: 'cse',
  Add: 'sum',
  Cat: 'concat',
};

/** Node features (op, shape, node_info), as the official `Graph` computes them, for nodes in final order. */
export function ghnNodes(nodes: readonly WalkNode[], builder: GhnBuilderName): GhnNode[] {
  const n = nodes.length;
  return nodes.map((node, index): GhnNode => {
    if (node.kind === 'param') {
      const role = node.role as ParamRole;
      const op = paramOp(node.name, role);
      const paramName = trimParamName(node.name);
      const sz = builder === 'ghn3' ? ghn3Shape(node.shape ?? [], index, n) : [...(node.shape ?? [])];
      return {
        name: node.name,
        op,
        shape: sz,
        moduleType: moduleTypeOf(role),
        info: nodeInfo(paramName, sz, index, n, builder),
      };
    }
    const op = OP_NODE_OPS[node.name] ?? 'sum';
    const name = node.name === 'input' ? 'input' : autogradName(node.name);
    if (op !== 'max_pool' && op !== 'avg_pool') return { name, op, shape: null, moduleType: null, info: null };
    const kernel = node.kernel ? [1, 1, ...node.kernel] : [1, 1, 3, 3];
    const sz = builder === 'ghn3' ? ghn3Shape(kernel, index, n) : kernel;
    return { name, op, shape: sz, moduleType: null, info: nodeInfo(op, sz, index, n, builder) };
  });
}

function nodeInfo(paramName: string, sz: number[], index: number, n: number, builder: GhnBuilderName): GhnNodeInfo {
  const isWeightSlot = index === n - 2;
  const isBiasSlot = index === n - 1;
  return {
    cell: 0,
    paramName,
    sz,
    lastWeight: builder === 'ghn3' ? isWeightSlot && paramName.includes('.weight') : isWeightSlot,
    lastBias: builder === 'ghn3' ? isBiasSlot && paramName.includes('.bias') : isBiasSlot,
  };
}

/** ghn3's shape rewrites: (1,T,C) → (1,C,⌊√T⌋,⌊√T⌋); a 1×1 4-D shape at N−2 → 2-D. */
function ghn3Shape(sz: number[], index: number, n: number): number[] {
  if (sz.length === 3 && sz[0] === 1 && Math.min(sz[1], sz[2]) > 1) {
    const s = Math.floor(Math.sqrt(sz[1]));
    return [1, sz[2], s, s];
  }
  if (sz.length === 4 && index === n - 2 && Math.max(sz[2], sz[3]) === 1) return sz.slice(0, 2);
  return [...sz];
}

/**
 * The node_info name: trimmed to start at `stem` or `pos_enc`, and DeepNets `_ops.<i>.<j>` paths
 * get their `op` component (a DeepNets convention the official code applies to every name).
 */
function trimParamName(name: string): string {
  const stem = name.indexOf('stem');
  const posEnc = name.indexOf('pos_enc');
  let trimmed = stem >= 0 ? name.slice(stem) : posEnc >= 0 ? name.slice(posEnc) : name;
  const parts = trimmed.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '_ops' && i + 2 < parts.length && parts[i + 2] !== 'op' && /^-?\d+$/.test(parts[i + 2])) {
      parts.splice(i + 2, 0, 'op');
      trimmed = parts.join('.');
      break;
    }
  }
  return trimmed;
}

/** Every pair within `cutoff` hops as [src, dst, hops], in row-major order. */
export function ghnEdges(graph: Digraph, cutoff: number): GhnEdge[] {
  return graph.shortestPathTriples(Math.max(1, cutoff));
}
