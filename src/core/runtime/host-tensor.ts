import { CoreError } from '../errors';
import { decodeBfloat16, decodeFloat16 } from '../tensor/half';
import { dtypeSize, numElements, type Dtype } from '../tensor/dtypes';

/** Typed arrays a HostTensor may hold. F16/BF16 are kept as raw bit patterns (Uint16Array). */
export type HostTensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | BigInt64Array;

/**
 * A tensor in host memory, row-major (C order), as given to and returned by an inference engine.
 * The typed array matches the dtype: F32 Float32Array, F64 Float64Array, I64 BigInt64Array,
 * I32 Int32Array, I16 Int16Array, I8 Int8Array, U8 and BOOL Uint8Array, F16/BF16 Uint16Array.
 */
export interface HostTensor {
  dtype: Dtype;
  shape: number[];
  data: HostTensorData;
}

/** Little-endian bytes of one tensor, as checkpoints store them (also the weight lookup's form). */
export interface TensorBytes {
  dtype: Dtype;
  shape: readonly number[];
  data: Uint8Array;
}

// Bound once: global lookups inside hot loops are slow in VM contexts (e.g. under Jest).
const { abs } = Math;
const toNumber = Number;

const ARRAY_TYPES: Record<Dtype, new (buffer: ArrayBuffer, offset: number, length: number) => HostTensorData> = {
  F32: Float32Array,
  F64: Float64Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** A float32 HostTensor; checks that the data fills the shape. */
export function float32Tensor(shape: readonly number[], data: Float32Array | ArrayLike<number>): HostTensor {
  const array = data instanceof Float32Array ? data : Float32Array.from(data);
  return checkedHostTensor('F32', shape, array);
}

/** A HostTensor after checking that the array type fits the dtype and its length fills the shape. */
export function checkedHostTensor(dtype: Dtype, shape: readonly number[], data: HostTensorData): HostTensor {
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new CoreError('INVALID_ARGUMENT', `invalid tensor shape [${shape.join(', ')}]`);
  }
  const expected = ARRAY_TYPES[dtype];
  if (!(data instanceof expected)) {
    throw new CoreError('INVALID_ARGUMENT', `a ${dtype} tensor needs a ${expected.name}, got ${data.constructor.name}`);
  }
  if (data.length !== numElements(shape)) {
    throw new CoreError('INVALID_ARGUMENT', `tensor data has ${data.length} values, shape [${shape.join(', ')}] needs ${numElements(shape)}`);
  }
  return { dtype, shape: [...shape], data };
}

/** Views (or, when unaligned, copies) little-endian tensor bytes as the dtype's typed array. */
export function hostTensorFromBytes(dtype: Dtype, shape: readonly number[], bytes: Uint8Array): HostTensor {
  const size = dtypeSize(dtype);
  if (bytes.byteLength !== numElements(shape) * size) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${bytes.byteLength} bytes given for a ${dtype} tensor of shape [${shape.join(', ')}] (${numElements(shape) * size} expected)`,
    );
  }
  // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice() is a view).
  const aligned = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  const Ctor = ARRAY_TYPES[dtype];
  return { dtype, shape: [...shape], data: new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, bytes.byteLength / size) };
}

/** The tensor's values as a Float32Array (converting other float and integer dtypes). */
export function toFloat32Array(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const d = t.data;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    return t.dtype === 'F16' ? decodeFloat16(bytes) : decodeBfloat16(bytes);
  }
  const out = new Float32Array(t.data.length);
  const data = t.data;
  for (let i = 0; i < out.length; i++) out[i] = toNumber(data[i]);
  return out;
}

/** The tensor's values as an Int32Array (int64 values outside the int32 range are rejected). */
export function toInt32Array(t: HostTensor): Int32Array {
  if (t.data instanceof Int32Array) return t.data;
  const out = new Int32Array(t.data.length);
  const data = t.data;
  for (let i = 0; i < out.length; i++) {
    const v = toNumber(data[i]);
    if (v > 2147483647 || v < -2147483648) {
      throw new CoreError('INVALID_ARGUMENT', `integer value ${v} does not fit in int32`);
    }
    out[i] = v;
  }
  return out;
}

/** Element-wise maximum absolute difference; shapes must be equal. */
export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new CoreError('INVALID_ARGUMENT', `shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const x = toFloat32Array(a);
  const y = toFloat32Array(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = abs(x[i] - y[i]);
    if (!(d <= m)) m = d !== d ? Infinity : d; // NaN compares unequal to itself
  }
  return m;
}
