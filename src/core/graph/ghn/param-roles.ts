import type { ArchitectureGraph, GraphNode } from '../ir';
import type { GhnBuilderName, GhnOp } from './ghn-graph';

/** What a parameter is to the GHN builders: its module type, which decides whether it is a node and its op. */
export type ParamRoleKind =
  | 'conv2d'
  | 'linear'
  | 'mha_in'
  | 'mha_out'
  | 'bn2d'
  | 'ln'
  | 'ln2d'
  | 'vit_pos'
  | 'embedding'
  | 'norm_bias'
  | 'none';

export interface ParamRole {
  kind: ParamRoleKind;
  /** For conv2d weights: the consuming Conv's group and dilations. */
  group?: number;
  dilations?: number[];
}

const MODULE_TYPES: Partial<Record<ParamRoleKind, string>> = {
  conv2d: 'Conv2d',
  linear: 'Linear',
  mha_in: 'MultiheadAttention',
  mha_out: 'NonDynamicallyQuantizableLinear',
  bn2d: 'BatchNorm2d',
  ln: 'LayerNorm',
  ln2d: 'LayerNorm2d',
  vit_pos: 'Encoder',
  embedding: 'Embedding',
};

const GHN3_NODE_KINDS = new Set<ParamRoleKind>([
  'conv2d', 'linear', 'mha_in', 'mha_out', 'bn2d', 'ln', 'ln2d', 'vit_pos', 'embedding',
]);
const PPUDA_NODE_KINDS = new Set<ParamRoleKind>(['conv2d', 'linear', 'bn2d', 'ln', 'ln2d']);

/** Whether a parameter with this role becomes a graph node under the builder. */
export function isNodeRole(role: ParamRole, builder: GhnBuilderName): boolean {
  return (builder === 'ghn3' ? GHN3_NODE_KINDS : PPUDA_NODE_KINDS).has(role.kind);
}

export function moduleTypeOf(role: ParamRole): string | null {
  return MODULE_TYPES[role.kind] ?? null;
}

/** The module path of a parameter: its name without the last component. */
export function moduleOf(paramName: string): string {
  const dot = paramName.lastIndexOf('.');
  return dot < 0 ? '' : paramName.slice(0, dot);
}

/** The GHN op of a parameter node (the official MODULES table). */
export function paramOp(name: string, role: ParamRole): GhnOp {
  switch (role.kind) {
    case 'bn2d':
      return 'bn';
    case 'ln':
    case 'ln2d':
      return 'ln';
    case 'vit_pos':
    case 'embedding':
      return 'pos_enc';
    default:
      if (name.includes('bias')) return 'bias';
      if (role.kind === 'conv2d' && (role.group ?? 1) > 1) {
        return Math.min(...(role.dilations ?? [1])) > 1 ? 'dil_conv' : 'sep_conv';
      }
      return 'conv';
  }
}

/**
 * Assigns roles to parameters from their consumers (first matching use in file order), then from
 * torchvision naming: MHA `in_proj_*` and `<mha>.out_proj.*`, and `<m>.bias` taking the role of
 * `<m>.weight`. `paramShapes` maps every parameter name (Identity aliases included) to its dims;
 * `ranks` gives known value ranks (BatchNorm on an input of unknown rank counts as BatchNorm2d).
 */
export function assignParamRoles(
  graph: ArchitectureGraph,
  paramShapes: ReadonlyMap<string, number[]>,
  ranks: ReadonlyMap<string, number>,
): Map<string, ParamRole> {
  const consumers = new Map<string, GraphNode[]>();
  const producers = new Map<string, GraphNode>();
  for (const node of graph.nodes) {
    for (const v of node.outputs) {
      consumers.set(v, []);
      producers.set(v, node);
    }
  }
  for (const node of graph.nodes) {
    for (const v of new Set(node.inputs)) consumers.get(v)?.push(node);
  }
  const uses: Uses = { consumers, producers };
  const paramConsumers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    for (const v of new Set(node.inputs)) {
      if (!paramShapes.has(v)) continue;
      const list = paramConsumers.get(v) ?? [];
      list.push(node);
      paramConsumers.set(v, list);
    }
  }

  const roles = new Map<string, ParamRole>();
  for (const [name, shape] of paramShapes) {
    let role: ParamRole = { kind: 'none' };
    for (const node of paramConsumers.get(name) ?? []) {
      const found = roleFromConsumer(name, shape, node, paramShapes, ranks, uses);
      if (found) {
        role = found;
        break;
      }
    }
    roles.set(name, role);
  }

  for (const name of paramShapes.keys()) {
    const role = roles.get(name) as ParamRole;
    if (role.kind === 'norm_bias') continue;
    if (/(^|\.)in_proj_(weight|bias)$/.test(name)) {
      roles.set(name, { kind: 'mha_in' });
      continue;
    }
    const outProj = /^(.*)\.out_proj\.(weight|bias)$/.exec(name);
    if (outProj && paramShapes.has(`${outProj[1]}.in_proj_weight`)) {
      roles.set(name, { kind: 'mha_out' });
      continue;
    }
    if (name.endsWith('.bias')) {
      const weight = roles.get(`${moduleOf(name)}.weight`);
      if (weight && weight.kind !== 'none') roles.set(name, { kind: weight.kind });
    }
  }
  return roles;
}

function roleFromConsumer(
  name: string,
  shape: number[],
  node: GraphNode,
  paramShapes: ReadonlyMap<string, number[]>,
  ranks: ReadonlyMap<string, number>,
  uses: Uses,
): ParamRole | undefined {
  const consumers = uses.consumers;
  const position = node.inputs.indexOf(name);
  switch (node.opType) {
    case 'Conv': {
      const weightRank = position === 1 ? shape.length : paramShapes.get(node.inputs[1])?.length;
      if (position !== 1 && position !== 2) return undefined;
      if (weightRank !== 4) return { kind: 'none' };
      const group = numberAttr(node, 'group', 1);
      const dilations = node.attributes.dilations;
      return { kind: 'conv2d', group, dilations: Array.isArray(dilations) ? (dilations as number[]) : [1] };
    }
    case 'Gemm':
      return position === 1 || position === 2 ? { kind: 'linear' } : undefined;
    case 'Transpose': {
      const feedsMatMul = node.outputs.some((o) => (consumers.get(o) ?? []).some((c) => c.opType === 'MatMul'));
      return shape.length === 2 && feedsMatMul ? { kind: 'linear' } : undefined;
    }
    case 'BatchNormalization': {
      if (position === 2) return { kind: 'norm_bias' };
      if (position !== 1) return undefined;
      const rank = ranks.get(node.inputs[0]);
      return rank === undefined || rank === 4 ? { kind: 'bn2d' } : { kind: 'none' };
    }
    case 'LayerNormalization':
      if (position === 2) return { kind: 'norm_bias' };
      if (position !== 1) return undefined;
      return { kind: isLayerNorm2d(node, uses) ? 'ln2d' : 'ln' };
    case 'Add':
      return name.endsWith('pos_embedding') ? { kind: 'vit_pos' } : undefined;
    case 'Gather':
      return position === 0 && !name.endsWith('bias_table') ? { kind: 'embedding' } : undefined;
    default:
      return undefined;
  }
}

/** torchvision LayerNorm2d: Transpose → LayerNormalization → Transpose only. */
function isLayerNorm2d(node: GraphNode, uses: Uses): boolean {
  if (uses.producers.get(node.inputs[0])?.opType !== 'Transpose') return false;
  const users = uses.consumers.get(node.outputs[0]) ?? [];
  return users.length > 0 && users.every((u) => u.opType === 'Transpose');
}

interface Uses {
  consumers: ReadonlyMap<string, GraphNode[]>;
  producers: ReadonlyMap<string, GraphNode>;
}

function numberAttr(node: GraphNode, key: string, fallback: number): number {
  const v = node.attributes[key];
  return typeof v === 'number' ? v : fallback;
}
