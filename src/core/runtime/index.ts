export { createEngine, type EngineOptions } from './engine';
export type { EngineKind, InferenceEngine } from './engine-types';
export {
  checkedHostTensor,
  float32Tensor,
  hostTensorFromBytes,
  maxAbsDiff,
  toFloat32Array,
  type HostTensor,
  type HostTensorData,
  type TensorBytes,
} from './host-tensor';
export { bindWeight, onnxEmbeddedWeights, tensorSetWeights, usedInitializers, type WeightLookup } from './weights';
export { encodeGraphAsOnnx, graphToOnnxModel } from './ir-to-onnx';
export { TFJS_SUPPORTED_OPS } from './tfjs/evaluate';
export { randomWeights, type RandomWeightsOptions } from './random-weights';
export { benchmarkEngine, type BenchmarkOptions, type BenchmarkResult } from './benchmark';
