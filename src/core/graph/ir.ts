import type { Dtype } from '../tensor/dtypes';

/**
 * The canonical architecture graph: an ONNX-compatible op graph (opset 17 vocabulary, as written by
 * the TorchScript `torch.onnx.export` in eval mode without constant folding) with no weights.
 * Initializer names are PyTorch state_dict names, so predicted weights load with load_state_dict.
 * The zoo emits it directly; ONNX uploads are imported into it; the GHN graph is derived from it.
 */
export interface ArchitectureGraph {
  /** Model name, e.g. `resnet50` or the ONNX graph name. */
  name: string;
  /** Python class of the model when known (e.g. `ResNet`, `VisionTransformer`, `SqueezeNet`). */
  modelClass?: string;
  opset: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** state_dict entries (parameters and buffers), in state_dict order. */
  initializers: Initializer[];
  /** Nodes in topological (file) order. */
  nodes: GraphNode[];
  /** Shapes of intermediate values when known (ONNX `value_info`); e.g. BatchNorm input ranks. */
  valueInfo?: ValueInfo[];
}

export interface ValueInfo {
  name: string;
  dtype: Dtype;
  /** Dimensions; a string is a symbolic dimension such as `batch`. */
  shape: (number | string)[];
}

export interface Initializer {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** True for trainable parameters, false for buffers (running_mean, num_batches_tracked, ...). */
  isParameter: boolean;
  /**
   * Set by the ONNX importer when the exporter de-duplicated this tensor: the file holds no data
   * under this name, only under `aliasOf` (an equal earlier initializer; it was `Identity(aliasOf)`).
   */
  aliasOf?: string;
}

export interface GraphNode {
  /** Unique node name, e.g. `/layer1/layer1.0/conv1/Conv`. */
  name: string;
  /** ONNX op type, e.g. `Conv`, `BatchNormalization`, `Gemm`. */
  opType: string;
  /** Value names consumed; an empty string marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

/** ONNX attribute values; TENSOR attributes (Constant nodes) carry small constant tensors inline. */
export type AttributeValue = number | string | number[] | string[] | ConstantTensor;

export interface ConstantTensor {
  dtype: Dtype;
  shape: number[];
  /** Values in row-major order (int64 values as numbers). */
  values: number[];
}
