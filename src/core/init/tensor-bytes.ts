import { CoreError } from '../errors';
import { encodeBfloat16, encodeFloat16 } from '../tensor/half';
import { numElements, type Dtype } from '../tensor/dtypes';

/** One initialized tensor: little-endian bytes in the state_dict entry's dtype. */
export interface InitTensor {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function isFloatDtype(dtype: Dtype): boolean {
  return dtype === 'F32' || dtype === 'F64' || dtype === 'F16' || dtype === 'BF16';
}

/** Floating-point values in a float dtype (values are rounded once, from float64 or float32). */
export function encodeFloats(dtype: Dtype, values: Float64Array | Float32Array): Uint8Array {
  switch (dtype) {
    case 'F32':
      return bytesOf(values instanceof Float32Array ? values : Float32Array.from(values));
    case 'F64':
      return bytesOf(values instanceof Float64Array ? values : Float64Array.from(values));
    case 'F16':
      return encodeFloat16(values);
    case 'BF16':
      return encodeBfloat16(values);
    default:
      throw new CoreError('INVALID_ARGUMENT', `cannot store random values in a ${dtype} tensor`, { dtype });
  }
}

/** A tensor filled with one value in any dtype (integers and booleans too). */
export function constantBytes(dtype: Dtype, shape: readonly number[], value: number): Uint8Array {
  const n = numElements(shape);
  switch (dtype) {
    case 'F32':
      return bytesOf(new Float32Array(n).fill(value));
    case 'F64':
      return bytesOf(new Float64Array(n).fill(value));
    case 'F16':
    case 'BF16':
      return encodeFloats(dtype, new Float32Array(n).fill(value));
    case 'I64':
      return bytesOf(new BigInt64Array(n).fill(BigInt(Math.trunc(value))));
    case 'I32':
      return bytesOf(new Int32Array(n).fill(value));
    case 'I16':
      return bytesOf(new Int16Array(n).fill(value));
    case 'I8':
      return bytesOf(new Int8Array(n).fill(value));
    case 'U8':
      return new Uint8Array(n).fill(value);
    case 'BOOL':
      return new Uint8Array(n).fill(value !== 0 ? 1 : 0);
  }
}
