import { hostTensorFromBytes, type HostTensor, type HostTensorData } from '../../core/runtime';
import { decodeBfloat16, decodeFloat16, float32ToBfloat16, float32ToFloat16 } from '../../core/tensor/half';
import { dtypeSize, numElements, type Dtype } from '../../core/tensor/dtypes';
import { ServiceError } from '../../core/service-error';

/** Open Inference Protocol datatype names of the dtypes the runtime handles. */
const DATATYPE_OF: Record<Dtype, string> = {
  F64: 'FP64',
  F32: 'FP32',
  F16: 'FP16',
  BF16: 'BF16',
  I64: 'INT64',
  I32: 'INT32',
  I16: 'INT16',
  I8: 'INT8',
  U8: 'UINT8',
  BOOL: 'BOOL',
};
const DTYPE_OF = new Map<string, Dtype>(Object.entries(DATATYPE_OF).map(([dtype, datatype]) => [datatype, dtype as Dtype]));
/** Protocol datatypes that exist but that no Weightsmith model takes. */
const UNSUPPORTED_DATATYPES = new Set(['UINT16', 'UINT32', 'UINT64', 'BYTES']);

export function datatypeOf(dtype: Dtype): string {
  return DATATYPE_OF[dtype];
}

/** The dtype of a protocol datatype; 400 for names the protocol has but we do not run, or unknown names. */
export function dtypeOfDatatype(datatype: string, where: string): Dtype {
  const dtype = DTYPE_OF.get(datatype);
  if (dtype) return dtype;
  const why = UNSUPPORTED_DATATYPES.has(datatype) ? 'is not supported by this server' : 'is not an Open Inference Protocol datatype';
  throw invalid(`${where}: datatype ${JSON.stringify(datatype)} ${why} (use one of ${[...DTYPE_OF.keys()].join(', ')})`);
}

export function invalid(message: string): ServiceError {
  return new ServiceError('VALIDATION_FAILED', message);
}

/** Deeper nesting than any tensor rank is refused (and keeps the recursion shallow). */
const MAX_NESTING = 32;

/** Writes one JSON value; false when it does not fit the dtype. */
type Writer = (out: HostTensorData, index: number, value: unknown) => boolean;
/** Every dtype but I64 stores JS numbers. */
type NumberArray = Float64Array;

const INT_RANGES: Partial<Record<Dtype, [number, number]>> = {
  I32: [-2147483648, 2147483647],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
};

function writerFor(dtype: Dtype): Writer {
  switch (dtype) {
    case 'F32':
    case 'F64':
      return (out, i, v) => typeof v === 'number' && (((out as NumberArray)[i] = v), true);
    case 'F16':
      return (out, i, v) => typeof v === 'number' && (((out as NumberArray)[i] = float32ToFloat16(v)), true);
    case 'BF16':
      return (out, i, v) => typeof v === 'number' && (((out as NumberArray)[i] = float32ToBfloat16(v)), true);
    case 'I64':
      return (out, i, v) => Number.isSafeInteger(v) && (((out as BigInt64Array)[i] = BigInt(v as number)), true);
    case 'BOOL':
      return (out, i, v) => typeof v === 'boolean' && (((out as NumberArray)[i] = v ? 1 : 0), true);
    default: {
      const [lo, hi] = INT_RANGES[dtype]!;
      return (out, i, v) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi && (((out as NumberArray)[i] = v as number), true);
    }
  }
}

function allocate(dtype: Dtype, n: number): HostTensorData {
  switch (dtype) {
    case 'F32': return new Float32Array(n);
    case 'F64': return new Float64Array(n);
    case 'F16':
    case 'BF16': return new Uint16Array(n);
    case 'I64': return new BigInt64Array(n);
    case 'I32': return new Int32Array(n);
    case 'I16': return new Int16Array(n);
    case 'I8': return new Int8Array(n);
    case 'U8':
    case 'BOOL': return new Uint8Array(n);
  }
}

/** The number of values in nested `data` (refusing nesting deeper than MAX_NESTING). */
function countValues(data: unknown[], where: string): number {
  let count = 0;
  const visit = (values: unknown[], depth: number): void => {
    if (depth > MAX_NESTING) throw invalid(`${where}: data is nested more than ${MAX_NESTING} levels deep`);
    for (const v of values) {
      if (Array.isArray(v)) visit(v, depth + 1);
      else count++;
    }
  };
  visit(data, 1);
  return count;
}

/**
 * A tensor from JSON `data`: row-major values, flat or nested (the protocol allows both). The
 * element count must equal the shape's, and is checked before the tensor is allocated; each value
 * must fit the datatype (no silent coercion).
 */
export function tensorFromJson(name: string, datatype: string, dtype: Dtype, shape: readonly number[], data: unknown): HostTensor {
  const where = `input '${name}'`;
  if (!Array.isArray(data)) throw invalid(`${where}: data must be an array of ${datatype} values`);
  const expected = numElements(shape);
  const count = countValues(data, where);
  if (count !== expected) throw invalid(`${where}: data has ${count} values, shape [${shape.join(', ')}] needs ${expected}`);
  const out = allocate(dtype, expected);
  const write = writerFor(dtype);
  let index = 0;
  const fill = (values: unknown[]): void => {
    for (const v of values) {
      if (Array.isArray(v)) {
        fill(v);
        continue;
      }
      if (!write(out, index, v)) throw invalid(`${where}: ${JSON.stringify(v) ?? String(v)} is not a valid ${datatype} value`);
      index++;
    }
  };
  fill(data);
  return { dtype, shape: [...shape], data: out };
}

/** A tensor from the binary extension's bytes (little-endian, row-major). */
export function tensorFromBinary(name: string, datatype: string, dtype: Dtype, shape: readonly number[], bytes: Uint8Array): HostTensor {
  const expected = numElements(shape) * dtypeSize(dtype);
  if (bytes.byteLength !== expected) {
    throw invalid(`input '${name}': binary_data_size is ${bytes.byteLength} bytes, ${datatype} [${shape.join(', ')}] needs ${expected}`);
  }
  // A plain Uint8Array view: hostTensorFromBytes copies unaligned bytes with slice(), which on a
  // Buffer would be a view again.
  return hostTensorFromBytes(dtype, shape, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** JSON `data` of an output: numbers (int64 as numbers, exact to 2^53), booleans for BOOL. */
export function tensorToJson(t: HostTensor): number[] | boolean[] {
  const d = t.data;
  if (t.dtype === 'BOOL') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    return Array.from(t.dtype === 'F16' ? decodeFloat16(bytes) : decodeBfloat16(bytes));
  }
  if (d instanceof BigInt64Array) return Array.from(d, (v) => Number(v));
  return Array.from(d as ArrayLike<number>);
}

/** The tensor's little-endian bytes (a view, no copy). */
export function tensorBytes(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
