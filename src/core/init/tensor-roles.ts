import type { ArchitectureGraph, GraphNode, Initializer } from '../graph/ir';

/**
 * What a state_dict entry is, as far as initialization cares: which PyTorch module's
 * reset_parameters (or torchvision constructor rule) gives it its fresh value.
 */
export type TensorRole =
  | 'conv-weight'
  | 'linear-weight'
  /** nn.MultiheadAttention in_proj_weight (xavier_uniform in torch). */
  | 'attention-in-weight'
  /** nn.MultiheadAttention in_proj_bias and out_proj.bias (zero in torch). */
  | 'attention-bias'
  | 'embedding'
  /** Conv/Linear bias: U(±1/√fan_in) in torch. */
  | 'layer-bias'
  | 'norm-weight'
  | 'norm-bias'
  /** torchvision ViT class_token (zeros). */
  | 'class-token'
  /** torchvision ViT encoder.pos_embedding (normal, std 0.02). */
  | 'position-embedding'
  /** torchvision ConvNeXt layer_scale (1e-6). */
  | 'layer-scale'
  /** torchvision Swin relative_position_bias_table (trunc_normal, std 0.02). */
  | 'position-bias-table'
  | 'unknown-parameter'
  | 'running-mean'
  | 'running-var'
  | 'batch-count'
  | 'unknown-buffer';

export interface ClassifiedTensor {
  init: Initializer;
  role: TensorRole;
  /** torch's fan_in of the weight a layer bias belongs to (null when unknown). */
  biasFanIn?: number | null;
}

const NORM_OPS = new Set(['BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization']);
/** Ops that pass a parameter on unchanged in value (the exporter's Linear is Transpose → MatMul). */
const PASS_THROUGH = new Set(['Transpose', 'Identity', 'Cast', 'Reshape', 'Unsqueeze', 'Squeeze']);

/** torch.nn.init._calculate_fan_in_and_fan_out on a stored shape. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function lastComponent(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

function moduleOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(0, dot);
}

/**
 * Classifies every initializer of the graph (state_dict order kept): first by torch/torchvision
 * names that identify a rule (MHA projections, ViT tokens, layer scales, BN statistics), then by
 * the op that consumes the tensor (Conv, Gemm/MatMul, normalizations, Gather), then a bias takes
 * the fan-in of its module's weight. Anything else is `unknown-parameter` / `unknown-buffer`.
 */
export function classifyTensors(graph: ArchitectureGraph): ClassifiedTensor[] {
  const names = new Set(graph.initializers.map((i) => i.name));
  const byName = new Map(graph.initializers.map((i) => [i.name, i]));
  const uses = firstUses(graph, names);
  const roles = new Map<string, TensorRole>();
  for (const init of graph.initializers) roles.set(init.name, roleOf(init, names, uses.get(init.name) ?? null));
  return graph.initializers.map((init) => {
    const role = roles.get(init.name) as TensorRole;
    if (role === 'unknown-parameter' && lastComponent(init.name) === 'bias') {
      const weight = `${moduleOf(init.name)}.weight`;
      const weightRole = roles.get(weight);
      if (weightRole === 'conv-weight' || weightRole === 'linear-weight') {
        return { init, role: 'layer-bias', biasFanIn: fans((byName.get(weight) as Initializer).shape).fanIn };
      }
      if (weightRole === 'norm-weight') return { init, role: 'norm-bias' };
    }
    if (role === 'layer-bias') return { init, role, biasFanIn: biasFanIn(init, uses.get(init.name) ?? null, byName) };
    return { init, role };
  });
}

interface Use {
  node: GraphNode;
  position: number;
  /** The op that finally consumes the value after pass-through ops (Transpose → MatMul). */
  finalOp: string;
}

/** Each initializer's first consumer in file order, following pass-through ops one level deep. */
function firstUses(graph: ArchitectureGraph, names: ReadonlySet<string>): Map<string, Use> {
  const consumers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      const list = consumers.get(input);
      if (list) list.push(node);
      else consumers.set(input, [node]);
    }
  }
  const out = new Map<string, Use>();
  for (const node of graph.nodes) {
    node.inputs.forEach((input, position) => {
      if (!names.has(input) || out.has(input)) return;
      let finalOp = node.opType;
      if (PASS_THROUGH.has(node.opType)) {
        const next = consumers.get(node.outputs[0] ?? '')?.[0];
        if (next) finalOp = next.opType;
      }
      out.set(input, { node, position, finalOp });
    });
  }
  return out;
}

function roleOf(init: Initializer, names: ReadonlySet<string>, use: Use | null): TensorRole {
  const last = lastComponent(init.name);
  const module = moduleOf(init.name);
  if (!init.isParameter) {
    if (last === 'running_mean' || (use?.node.opType === 'BatchNormalization' && use.position === 3)) return 'running-mean';
    if (last === 'running_var' || (use?.node.opType === 'BatchNormalization' && use.position === 4)) return 'running-var';
    if (last === 'num_batches_tracked') return 'batch-count';
    return 'unknown-buffer';
  }
  if (/^(in_proj_weight|[qkv]_proj_weight)$/.test(last)) return 'attention-in-weight';
  if (last === 'in_proj_bias') return 'attention-bias';
  const outProj = /^(.*)\.out_proj$/.exec(module);
  const isAttentionOut = outProj !== null && names.has(`${outProj[1]}.in_proj_weight`);
  if (isAttentionOut && last === 'bias') return 'attention-bias';
  if (isAttentionOut && last === 'weight') return 'linear-weight';
  if (last === 'class_token' || last === 'cls_token') return 'class-token';
  if (last === 'pos_embedding') return 'position-embedding';
  if (last === 'layer_scale') return 'layer-scale';
  if (last === 'relative_position_bias_table') return 'position-bias-table';
  if (!use) return 'unknown-parameter';
  const { node, position, finalOp } = use;
  switch (node.opType) {
    case 'Conv':
    case 'ConvTranspose':
      if (position === 1) return 'conv-weight';
      return position === 2 ? 'layer-bias' : 'unknown-parameter';
    case 'Gemm':
      if (position === 1) return 'linear-weight';
      return position === 2 ? 'layer-bias' : 'unknown-parameter';
    case 'MatMul':
      return init.shape.length === 2 ? 'linear-weight' : 'unknown-parameter';
    case 'Gather':
      return position === 0 ? 'embedding' : 'unknown-parameter';
    default:
      if (NORM_OPS.has(node.opType)) {
        if (position === 1) return 'norm-weight';
        if (position === 2) return 'norm-bias';
      }
      if (PASS_THROUGH.has(node.opType) && (finalOp === 'MatMul' || finalOp === 'Gemm') && init.shape.length === 2) return 'linear-weight';
      return 'unknown-parameter';
  }
}

/** fan_in of the weight consumed by the same Conv/Gemm node as this bias. */
function biasFanIn(init: Initializer, use: Use | null, byName: ReadonlyMap<string, Initializer>): number | null {
  const weight = use ? byName.get(use.node.inputs[1] ?? '') : byName.get(`${moduleOf(init.name)}.weight`);
  return weight ? fans(weight.shape).fanIn : null;
}
