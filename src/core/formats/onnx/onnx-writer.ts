import { CoreError } from '../../errors';
import type { Dtype } from '../../tensor/dtypes';
import {
  copyMessage,
  encodeOnnxModel,
  MAX_PROTOBUF_BYTES,
  type OnnxModel,
  type OnnxTensorProto,
} from './onnx-codec';
import { describeInitializer, type OnnxInitializerInfo } from './onnx-initializers';

/** Bytes for one initializer: little-endian, C-contiguous, in `dtype`. */
export interface OnnxInitializerData {
  dtype: Dtype;
  shape: readonly number[];
  data: Uint8Array;
}

export type OnnxInitializerLookup =
  | ReadonlyMap<string, OnnxInitializerData>
  | ((name: string) => OnnxInitializerData | undefined);

export interface WriteOnnxOptions {
  /** Keep initializers that the lookup lacks as they are in the model, instead of failing. */
  keepMissing?: boolean;
}

/**
 * Encodes a copy of `model` whose initializers carry raw_data from `initializers` (typed data and
 * external data fields cleared, data_location DEFAULT). Dtype, dims and byte length must match the
 * model's initializer (INVALID_ARGUMENT naming the tensor); initializers the lookup lacks fail with
 * TENSOR_NOT_FOUND unless options.keepMissing. Lookup entries that are not initializers are ignored.
 * Models over 2 GiB need writeOnnxModelWithExternalData.
 */
export function writeOnnxModel(model: OnnxModel, initializers: OnnxInitializerLookup, options: WriteOnnxOptions = {}): Uint8Array {
  const lookup = toLookup(initializers);
  let totalBytes = 0;
  const replaced = mapInitializers(model, (tensor) => {
    const entry = lookup(tensor.name ?? '');
    if (entry === undefined) {
      const kept = keepOrFail(tensor, options);
      totalBytes += kept.rawData?.byteLength ?? 0;
      return kept;
    }
    checkInitializerData(describeInitializer(tensor), entry.dtype, entry.shape, entry.data.byteLength);
    totalBytes += entry.data.byteLength;
    if (totalBytes > MAX_PROTOBUF_BYTES) {
      throw new CoreError('INVALID_ARGUMENT', 'initializers exceed the 2 GiB protobuf limit; write the model with external data');
    }
    return withRawData(tensor, entry.data);
  });
  const bytes = encodeOnnxModel(replaced);
  if (bytes.byteLength > MAX_PROTOBUF_BYTES) {
    throw new CoreError('INVALID_ARGUMENT', 'the model exceeds the 2 GiB protobuf limit; write it with external data');
  }
  return bytes;
}

/** The lookup as a function; a Map is read with get(). */
export function toLookup<T>(initializers: ReadonlyMap<string, T> | ((name: string) => T)): (name: string) => T | undefined {
  return typeof initializers === 'function' ? initializers : (name) => initializers.get(name);
}

/** A copy of the model (graph and initializer list copied, the rest shared) with each initializer mapped. */
export function mapInitializers(model: OnnxModel, replace: (tensor: OnnxTensorProto) => OnnxTensorProto): OnnxModel {
  if (!model.graph) throw new CoreError('INVALID_ARGUMENT', 'the ONNX model has no graph');
  const graph = copyMessage(model.graph);
  graph.initializer = (model.graph.initializer ?? []).map(replace);
  const copy = copyMessage(model);
  copy.graph = graph;
  return copy;
}

/** An initializer the lookup lacks: kept unchanged (options.keepMissing) or TENSOR_NOT_FOUND. */
export function keepOrFail(tensor: OnnxTensorProto, options: WriteOnnxOptions): OnnxTensorProto {
  if (!options.keepMissing) {
    throw new CoreError('TENSOR_NOT_FOUND', `no data given for initializer '${tensor.name ?? ''}'`, { tensor: tensor.name ?? '' });
  }
  return tensor;
}

export function checkInitializerData(info: OnnxInitializerInfo, dtype: Dtype, shape: readonly number[], byteLength: number): void {
  const fail = (what: string): never => {
    throw new CoreError('INVALID_ARGUMENT', `initializer '${info.name}': ${what}`, { tensor: info.name });
  };
  if (dtype !== info.dtype) fail(`dtype ${dtype} given, the model has ${info.dtype}`);
  if (shape.length !== info.dims.length || shape.some((d, i) => d !== info.dims[i])) {
    fail(`shape [${shape.join(', ')}] given, the model has [${info.dims.join(', ')}]`);
  }
  if (byteLength !== info.byteLength) fail(`${byteLength} bytes given, ${info.byteLength} expected`);
}

/** The tensor's metadata with its data replaced; typed, segment and external fields are dropped. */
function tensorMetadata(tensor: OnnxTensorProto): OnnxTensorProto {
  const out: OnnxTensorProto = { name: tensor.name, dims: tensor.dims, dataType: tensor.dataType };
  if (tensor.docString) out.docString = tensor.docString;
  if (tensor.metadataProps?.length) out.metadataProps = tensor.metadataProps;
  if (tensor.$unknowns) out.$unknowns = tensor.$unknowns;
  return out;
}

export function withRawData(tensor: OnnxTensorProto, data: Uint8Array): OnnxTensorProto {
  return { ...tensorMetadata(tensor), rawData: data, dataLocation: 0 };
}

export function withExternalData(tensor: OnnxTensorProto, location: string, offset: number, length: number): OnnxTensorProto {
  return {
    ...tensorMetadata(tensor),
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}
