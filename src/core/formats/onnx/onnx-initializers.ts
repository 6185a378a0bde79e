import { CoreError } from '../../errors';
import { dtypeSize, type Dtype } from '../../tensor/dtypes';
import {
  DATA_LOCATION_EXTERNAL,
  int64ToNumber,
  type OnnxInt64,
  type OnnxModel,
  type OnnxTensorProto,
} from './onnx-codec';
import { requireDtypeOfOnnxType } from './onnx-dtypes';

/** Where an initializer's bytes live outside the model (TensorProto.external_data). */
export interface OnnxExternalData {
  /** Path relative to the model's folder (checked: relative, no '..'). */
  location: string;
  offset?: number;
  length?: number;
  /** SHA-1 hex digest, when the writer recorded one. */
  checksum?: string;
}

export interface OnnxInitializerInfo {
  name: string;
  dtype: Dtype;
  dims: number[];
  /** numElements(dims) * dtypeSize(dtype). */
  byteLength: number;
  /** True when the bytes are embedded in the model (raw_data or a typed field, or no elements). */
  hasData: boolean;
  external?: OnnxExternalData;
}

/** Describes every top-level initializer, in model order. */
export function listInitializers(model: OnnxModel): OnnxInitializerInfo[] {
  return (model.graph?.initializer ?? []).map(describeInitializer);
}

/** Validates one initializer's metadata and embedded data lengths and describes it. */
export function describeInitializer(tensor: OnnxTensorProto): OnnxInitializerInfo {
  const name = tensor.name ?? '';
  const dtype = requireDtypeOfOnnxType(tensor.dataType ?? 0, name);
  const dims = (tensor.dims ?? []).map((d) => int64ToNumber(d, `dims of initializer '${name}'`));
  const byteLength = tensorByteLength(name, dims, dtype);
  if (tensor.segment) {
    throw new CoreError('UNSUPPORTED_FORMAT', `initializer '${name}' is a segment of a larger tensor`, { tensor: name });
  }
  if (tensor.dataLocation === DATA_LOCATION_EXTERNAL) {
    const external = parseExternalData(tensor, byteLength);
    return { name, dtype, dims, byteLength, hasData: false, external };
  }
  const embedded = embeddedDataLength(tensor, dtype);
  if (embedded.count > 0 && embedded.count !== embedded.expectedCount(byteLength)) {
    throw new CoreError(
      'ONNX_INVALID',
      `initializer '${name}' holds ${embedded.count} ${embedded.unit} of ${embedded.field} but its dims need ${embedded.expectedCount(byteLength)}`,
      { tensor: name },
    );
  }
  return { name, dtype, dims, byteLength, hasData: byteLength === 0 || embedded.count > 0 };
}

function tensorByteLength(name: string, dims: number[], dtype: Dtype): number {
  let count = 1;
  for (const d of dims) count *= d;
  const bytes = count * dtypeSize(dtype);
  if (!Number.isSafeInteger(bytes)) {
    throw new CoreError('ONNX_INVALID', `initializer '${name}' is too large (dims ${dims.join('x')})`, { tensor: name });
  }
  return bytes;
}

interface EmbeddedData {
  field: string;
  unit: 'bytes' | 'values';
  count: number;
  expectedCount(byteLength: number): number;
}

/** The field that carries embedded data for this dtype, per onnx.proto's TensorProto comments. */
function embeddedDataLength(tensor: OnnxTensorProto, dtype: Dtype): EmbeddedData {
  const raw = tensor.rawData?.byteLength ?? 0;
  if (raw > 0) return { field: 'raw_data', unit: 'bytes', count: raw, expectedCount: (n) => n };
  const values = (field: string, count: number): EmbeddedData => ({
    field,
    unit: 'values',
    count,
    expectedCount: (n) => n / dtypeSize(dtype),
  });
  switch (dtype) {
    case 'F32':
      return values('float_data', tensor.floatData?.length ?? 0);
    case 'F64':
      return values('double_data', tensor.doubleData?.length ?? 0);
    case 'I64':
      return values('int64_data', tensor.int64Data?.length ?? 0);
    default:
      // INT32, INT16, INT8, UINT8, BOOL, FLOAT16 and BFLOAT16 (as bit patterns) go in int32_data.
      return values('int32_data', tensor.int32Data?.length ?? 0);
  }
}

function parseExternalData(tensor: OnnxTensorProto, byteLength: number): OnnxExternalData {
  const name = tensor.name ?? '';
  const entries = new Map<string, string>();
  for (const entry of tensor.externalData ?? []) entries.set(entry.key ?? '', entry.value ?? '');
  const location = entries.get('location') ?? '';
  if (!isSafeRelativeLocation(location)) {
    throw new CoreError('ONNX_INVALID', `initializer '${name}' has an invalid external data location '${location}'`, {
      tensor: name,
      location,
    });
  }
  const external: OnnxExternalData = { location };
  const offset = parseCount(entries.get('offset'), name, 'offset');
  const length = parseCount(entries.get('length'), name, 'length');
  if (offset !== undefined) external.offset = offset;
  if (length !== undefined) {
    if (length !== byteLength) {
      throw new CoreError('ONNX_INVALID', `initializer '${name}' declares ${length} external bytes but its dims need ${byteLength}`, {
        tensor: name,
      });
    }
    external.length = length;
  }
  const checksum = entries.get('checksum');
  if (checksum) external.checksum = checksum;
  return external;
}

function parseCount(value: string | undefined, name: string, key: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new CoreError('ONNX_INVALID', `initializer '${name}' has an invalid external data ${key} '${value}'`, {
      tensor: name,
    });
  }
  return n;
}

/** A location must stay inside the model's folder: relative, no '..', no NUL, no drive letter. */
export function isSafeRelativeLocation(location: string): boolean {
  if (location === '' || location.includes('\0')) return false;
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) return false;
  return location.split(/[\\/]/).every((segment) => segment !== '..');
}

/**
 * The embedded bytes of an initializer (described by `info`) as little-endian C-order bytes in its
 * dtype: raw_data as is (a view), typed fields converted.
 */
export function embeddedTensorBytes(tensor: OnnxTensorProto, info: OnnxInitializerInfo): Uint8Array {
  if (info.byteLength === 0) return new Uint8Array(0);
  if ((tensor.rawData?.byteLength ?? 0) > 0) return tensor.rawData as Uint8Array;
  const out = new Uint8Array(info.byteLength);
  const view = new DataView(out.buffer);
  switch (info.dtype) {
    case 'F32':
      (tensor.floatData ?? []).forEach((v, i) => view.setFloat32(i * 4, v, true));
      break;
    case 'F64':
      (tensor.doubleData ?? []).forEach((v, i) => view.setFloat64(i * 8, v, true));
      break;
    case 'I64':
      (tensor.int64Data ?? []).forEach((v, i) => setInt64(view, i * 8, v));
      break;
    case 'I32':
      (tensor.int32Data ?? []).forEach((v, i) => view.setInt32(i * 4, v, true));
      break;
    case 'I16':
      (tensor.int32Data ?? []).forEach((v, i) => view.setInt16(i * 2, v, true));
      break;
    case 'F16':
    case 'BF16':
      (tensor.int32Data ?? []).forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true));
      break;
    case 'I8':
    case 'U8':
      (tensor.int32Data ?? []).forEach((v, i) => view.setUint8(i, v & 0xff));
      break;
    case 'BOOL':
      (tensor.int32Data ?? []).forEach((v, i) => view.setUint8(i, v !== 0 ? 1 : 0));
      break;
  }
  return out;
}

function setInt64(view: DataView, offset: number, value: OnnxInt64): void {
  if (typeof value === 'number') {
    view.setBigInt64(offset, BigInt(Math.trunc(value)), true);
  } else {
    view.setUint32(offset, value.low >>> 0, true);
    view.setUint32(offset + 4, value.high >>> 0, true);
  }
}
