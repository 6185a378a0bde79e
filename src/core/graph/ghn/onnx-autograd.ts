import type { GraphNode } from '../ir';

/**
 * What autograd would see of ONNX ops: which inputs carry gradients, and
 * the autograd-style name of an op node (only the part before "Backward" matters).
 */

const NEVER_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Equal', 'Less', 'Greater', 'LessOrEqual',
  'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'NonZero', 'ArgMax', 'ArgMin', 'Range', 'RandomNormal',
  'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Floor', 'Ceil',
  'Round', 'Sign', 'IsNaN', 'IsInf',
]);

const DATA_INPUT_ONLY = new Set([
  'Reshape', 'Expand', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'Squeeze', 'Unsqueeze', 'Tile',
  'Pad', 'Resize', 'Split', 'TopK', 'CumSum', 'Trilu',
]);

const SCATTER = new Set(['Scatter', 'ScatterND', 'ScatterElements']);

/** TensorProto.DataType of FLOAT, FLOAT16, DOUBLE, BFLOAT16. */
const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Whether any output of the node can carry a gradient. */
export function isDifferentiableOp(node: GraphNode): boolean {
  if (NEVER_DIFFERENTIABLE.has(node.opType)) return false;
  if (node.opType === 'Cast') return FLOAT_TYPES.has(node.attributes.to as number);
  return true;
}

/** Whether input `position` of the node is a differentiable position. */
export function isDifferentiableInput(node: GraphNode, position: number): boolean {
  const op = node.opType;
  if (DATA_INPUT_ONLY.has(op) || op.startsWith('Reduce')) return position === 0;
  if (op === 'Where') return position === 1 || position === 2;
  if (SCATTER.has(op)) return position === 0 || position === 2;
  return true;
}

export interface OpNodeName {
  /** Autograd op name without the `Backward` suffix, e.g. `MaxPool2DWithIndices`, `Mean`, `Relu`. */
  name: string;
  /** Pooling kernel (kernel_shape) where the official node keeps it. */
  kernel?: number[];
  /** For Mean: its keepdim flag. */
  keepdim?: boolean;
}

const RENAMED: Readonly<Record<string, string>> = {
  Softmax: 'Softmax',
  Add: 'Add',
  Sum: 'Add',
  Mul: 'Mul',
  Concat: 'Cat',
  Sigmoid: 'Sigmoid',
  HardSigmoid: 'Hardsigmoid',
  HardSwish: 'Hardswish',
  Relu: 'Relu',
  Clip: 'Hardtanh',
};

const AVG_POOL_MODULE_ATTRIBUTES = ['pads', 'count_include_pad', 'ceil_mode', 'auto_pad'];

/** The autograd-style name of an ONNX node standing alone (decompositions are handled by the caller). */
export function opNodeName(node: GraphNode): OpNodeName {
  const kernel = Array.isArray(node.attributes.kernel_shape) ? (node.attributes.kernel_shape as number[]) : undefined;
  switch (node.opType) {
    case 'MaxPool':
      return { name: 'MaxPool2DWithIndices', kernel };
    case 'AveragePool':
      // nn.AvgPool2d writes its padding options; an adaptive pool to an output ≠ 1 only kernel/strides.
      return AVG_POOL_MODULE_ATTRIBUTES.some((a) => node.attributes[a] !== undefined)
        ? { name: 'AvgPool2D', kernel }
        : { name: 'AdaptiveAvgPool2D' };
    case 'GlobalAveragePool':
      return { name: 'Mean', keepdim: true };
    case 'ReduceMean':
      return { name: 'Mean', keepdim: (node.attributes.keepdims ?? 1) !== 0 };
    default:
      return { name: RENAMED[node.opType] ?? node.opType };
  }
}

/** The autograd class name of an op node as the fixtures list it, e.g. `AddBackward0`, `MeanBackward1`. */
export function autogradName(name: string): string {
  return name === 'Mean' ? 'MeanBackward1' : `${name}Backward0`;
}

/**
 * Exporter decompositions of one autograd op, named as that op: `Mul(x, Sigmoid(x))` → Silu,
 * `Mul(x, HardSigmoid(x))` → Hardswish, `Div(x,c)→Erf→Add(·,1)→Mul(x,·)→Mul(·,0.5)` → Gelu.
 */
export function decompositionNames(
  nodes: readonly GraphNode[],
  producers: ReadonlyMap<string, GraphNode>,
  consumers: ReadonlyMap<string, GraphNode[]>,
): Map<GraphNode, string> {
  const names = new Map<GraphNode, string>();
  for (const node of nodes) {
    if (node.opType === 'Mul' && node.inputs.length === 2) {
      for (let k = 0; k < 2; k++) {
        const gate = producers.get(node.inputs[k]);
        const other = node.inputs[1 - k];
        if (!gate || gate.inputs[0] !== other) continue;
        if (gate.opType === 'Sigmoid' || gate.opType === 'HardSigmoid') {
          const name = gate.opType === 'Sigmoid' ? 'Silu' : 'Hardswish';
          names.set(node, name);
          names.set(gate, name);
          break;
        }
      }
    }
    if (node.opType === 'Erf') markGelu(node, producers, consumers, names);
  }
  return names;
}

function markGelu(
  erf: GraphNode,
  producers: ReadonlyMap<string, GraphNode>,
  consumers: ReadonlyMap<string, GraphNode[]>,
  names: Map<GraphNode, string>,
): void {
  const div = producers.get(erf.inputs[0]);
  if (!div || div.opType !== 'Div') return;
  const x = div.inputs[0];
  const add = (consumers.get(erf.outputs[0]) ?? []).find((n) => n.opType === 'Add');
  if (!add) return;
  const mulX = (consumers.get(add.outputs[0]) ?? []).find((n) => n.opType === 'Mul' && n.inputs.includes(x));
  if (!mulX) return;
  for (const n of [div, erf, add, mulX]) names.set(n, 'Gelu');
  const half = (consumers.get(mulX.outputs[0]) ?? []).find((n) => n.opType === 'Mul');
  if (half && (consumers.get(mulX.outputs[0]) ?? []).length === 1) names.set(half, 'Gelu');
}
