import type { ArchitectureGraph, GraphNode } from './ir';

/**
 * ONNX default-domain ops a Weightsmith graph may contain: everything torchvision exports use plus
 * the common inference ops. Control flow (If/Loop/Scan), sequences, optionals, random generators,
 * training losses and string ops are left out: the IR cannot hold subgraphs or non-tensor values.
 */
export const KNOWN_OPS: ReadonlySet<string> = new Set(
  `Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization BitShift
  BitwiseAnd BitwiseNot BitwiseOr BitwiseXor Cast CastLike Ceil Celu CenterCropPad Clip Col2Im Compress
  Concat Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DepthToSpace
  DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike
  Flatten Floor Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool
  Greater GreaterOrEqual GridSample GroupNormalization HardSigmoid HardSwish Hardmax Identity
  InstanceNormalization IsInf IsNaN LRN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax
  LpNormalization LpPool MatMul MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean
  MeanVarianceNormalization Min Mish Mod Mul Neg NonMaxSuppression NonZero Not OneHot Or PRelu Pad Pow
  QLinearConv QLinearMatMul QuantizeLinear Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum
  ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape
  Resize ReverseSequence RoiAlign Round ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin
  Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh
  ThresholdedRelu Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor`.split(/\s+/),
);

export function isKnownOp(opType: string): boolean {
  return KNOWN_OPS.has(opType);
}

/** Ops whose output has the shape of their first input (activations, normalisations, casts). */
export const SAME_SHAPE_OPS: ReadonlySet<string> = new Set(
  `Abs Acos Acosh Asin Asinh Atan Atanh BatchNormalization BitwiseNot Cast CastLike Ceil Celu Clip Cos
  Cosh CumSum Dropout Elu Erf Exp Floor Gelu GroupNormalization HardSigmoid HardSwish Hardmax Identity
  InstanceNormalization IsInf IsNaN LRN LayerNormalization LeakyRelu Log LogSoftmax LpNormalization
  MeanVarianceNormalization Mish Neg Not Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin Sinh Softmax
  Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Trilu`.split(/\s+/),
);

/** Ops whose output is the numpy broadcast of all their inputs. */
export const BROADCAST_OPS: ReadonlySet<string> = new Set(
  `Add And BitShift BitwiseAnd BitwiseOr BitwiseXor Div Equal Greater GreaterOrEqual Less LessOrEqual
  Max Mean Min Mod Mul Or PRelu Pow Sub Sum Where Xor`.split(/\s+/),
);

/** Ops that only move or re-label data (no arithmetic): they cost 0 FLOPs. */
export const DATA_MOVEMENT_OPS: ReadonlySet<string> = new Set(
  `Cast CastLike CenterCropPad Compress Concat Constant ConstantOfShape DepthToSpace Dropout Expand
  EyeLike Flatten Gather GatherElements GatherND Identity NonZero OneHot Pad Range Reshape
  ReverseSequence ScatterElements ScatterND Shape Size Slice SpaceToDepth Split Squeeze Tile Transpose
  Unsqueeze`.split(/\s+/),
);

/**
 * Nodes whose outputs depend only on constants and on static tensor shapes (not on the contents of
 * inputs or initializers): the exporter's shape arithmetic, computed once at load time. `Shape` and
 * `Size` are static whatever they read; any other node is static when all its inputs are.
 */
export function staticNodes(g: ArchitectureGraph, order: readonly GraphNode[] = g.nodes): Set<GraphNode> {
  const staticValues = new Set<string>();
  const result = new Set<GraphNode>();
  for (const node of order) {
    const isStatic =
      node.opType === 'Shape' ||
      node.opType === 'Size' ||
      node.inputs.every((input) => input === '' || staticValues.has(input));
    if (!isStatic) continue;
    result.add(node);
    for (const output of node.outputs) if (output !== '') staticValues.add(output);
  }
  return result;
}
