export {
  encodeOnnxModel,
  onnxDataTypeName,
  readOnnxModel,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensorProto,
  type OnnxValueInfo,
} from './onnx-codec';
export { dtypeOfOnnxType, onnxTypeOfDtype } from './onnx-dtypes';
export { listInitializers, type OnnxExternalData, type OnnxInitializerInfo } from './onnx-initializers';
export { graphSummary, type OnnxGraphSummary, type OnnxValueKind, type OnnxValueSummary } from './onnx-summary';
export { readOnnxTensors, type ReadOnnxTensorsOptions } from './onnx-tensors';
export { writeOnnxModel, type OnnxInitializerData, type OnnxInitializerLookup, type WriteOnnxOptions } from './onnx-writer';
export {
  writeOnnxModelWithExternalData,
  type OnnxAsyncInitializerLookup,
  type OnnxInitializerSource,
  type WriteExternalOptions,
  type WrittenOnnxFiles,
} from './onnx-external-writer';
