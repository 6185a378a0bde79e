import { Reader, Root, type INamespace } from 'protobufjs/light';
import { CoreError } from '../../errors';
import descriptor from './proto/onnx.json';
import type { onnx } from './proto/onnx-types';

/**
 * Protobuf (de)serialisation of ONNX models through protobufjs reflection over a descriptor that
 * pbjs generated from the official onnx.proto (see proto/regenerate.sh). No wire format by hand.
 */

/** A decoded ONNX model. Bytes fields (raw_data, ...) are views into the decoded input. */
export type OnnxModel = onnx.ModelProto.$Properties;
export type OnnxGraph = onnx.GraphProto.$Properties;
export type OnnxNode = onnx.NodeProto.$Properties;
export type OnnxTensorProto = onnx.TensorProto.$Properties;
export type OnnxValueInfo = onnx.ValueInfoProto.$Properties;
export type OnnxTypeProto = onnx.TypeProto.$Properties;
/** protobufjs decodes int64 fields as Long objects (numbers when built without long.js). */
export type OnnxInt64 = NonNullable<onnx.ModelProto.$Properties['irVersion']>;

/** TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;
/** Protobuf messages cannot exceed 2 GiB - 1 bytes. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

const root = Root.fromJSON(descriptor as unknown as INamespace);
const modelType = root.lookupType('onnx.ModelProto');
const dataTypeEnum = root.lookupEnum('onnx.TensorProto.DataType');

/** The TensorProto.DataType name of a data type number, e.g. 1 → 'FLOAT'. */
export function onnxDataTypeName(dataType: number): string {
  return dataTypeEnum.valuesById[dataType] ?? `data type ${dataType}`;
}

/** Converts an int64 field to a number, rejecting values beyond Number.MAX_SAFE_INTEGER. */
export function int64ToNumber(value: OnnxInt64 | null | undefined, what: string): number {
  if (value === null || value === undefined) return 0;
  const n = typeof value === 'number' ? value : value.toNumber();
  if (!Number.isSafeInteger(n)) {
    throw new CoreError('ONNX_INVALID', `${what} is not a safe integer`, { what });
  }
  return n;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes and sanity-checks an ONNX model. Malformed protobuf (protobufjs throws plain Errors and
 * RangeErrors: truncated fields, lengths past the end, nesting beyond its recursion limit) and
 * messages that are not ONNX models become CoreError('ONNX_INVALID'). Unknown fields (a newer
 * schema) are kept so that writing the model back preserves them.
 */
export function readOnnxModel(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new CoreError('INVALID_ARGUMENT', 'readOnnxModel expects a Uint8Array');
  }
  if (bytes.byteLength > MAX_PROTOBUF_BYTES) {
    throw new CoreError('ONNX_INVALID', `${bytes.byteLength} bytes exceed the 2 GiB protobuf limit`);
  }
  let model: OnnxModel;
  try {
    const reader = Reader.create(bytes);
    reader.discardUnknown = false;
    model = modelType.decode(reader) as OnnxModel;
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ONNX_INVALID', `not a valid ONNX protobuf: ${errorMessage(e)}`);
  }
  validateOnnxModel(model);
  return model;
}

/** The structural checks of readOnnxModel: ir_version, a graph, named unique initializers, dims >= 0. */
export function validateOnnxModel(model: OnnxModel): void {
  const irVersion = int64ToNumber(model.irVersion, 'ir_version');
  if (irVersion < 1) throw new CoreError('ONNX_INVALID', 'not an ONNX model: ir_version is missing');
  if (!model.graph) throw new CoreError('ONNX_INVALID', 'not an ONNX model: it has no graph');
  for (const opset of model.opsetImport ?? []) {
    if (int64ToNumber(opset.version, 'opset_import version') < 0) {
      throw new CoreError('ONNX_INVALID', `negative opset version for domain '${opset.domain ?? ''}'`);
    }
  }
  const names = new Set<string>();
  for (const tensor of model.graph.initializer ?? []) {
    const name = tensor.name ?? '';
    if (name === '') throw new CoreError('ONNX_INVALID', 'an initializer has no name');
    if (names.has(name)) {
      throw new CoreError('ONNX_INVALID', `duplicate initializer '${name}'`, { tensor: name });
    }
    names.add(name);
    for (const d of tensor.dims ?? []) {
      if (int64ToNumber(d, `dims of initializer '${name}'`) < 0) {
        throw new CoreError('ONNX_INVALID', `initializer '${name}' has a negative dimension`, { tensor: name });
      }
    }
  }
}

/** Copies a message shallowly, keeping its (non-enumerable) preserved unknown fields. */
export function copyMessage<T extends { $unknowns?: Uint8Array[] }>(message: T): T {
  const copy = { ...message };
  if (message.$unknowns) copy.$unknowns = message.$unknowns;
  return copy;
}

/** Encodes a model (decoded or built from plain objects) to ONNX protobuf bytes. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  try {
    return modelType.encode(model).finish();
  } catch (e) {
    throw new CoreError('INVALID_ARGUMENT', `cannot encode the ONNX model: ${errorMessage(e)}`);
  }
}
