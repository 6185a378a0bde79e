import { decodeBfloat16, decodeFloat16, encodeBfloat16, encodeFloat16 } from '../tensor/half';
import type { Dtype } from '../tensor/dtypes';

/** The dtypes whose values are averaged; every other dtype (integers, bool) is copied from one ingredient. */
export const FLOAT_DTYPES: readonly Dtype[] = ['F64', 'F32', 'F16', 'BF16'];

export function isFloatDtype(dtype: Dtype): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

/** Little-endian tensor bytes of a float dtype as float64 values (exact for every float dtype). */
export function decodeToFloat64(bytes: Uint8Array, dtype: Dtype): Float64Array {
  switch (dtype) {
    case 'F64': {
      const out = new Float64Array(bytes.byteLength / 8);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F32': {
      const values = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(values.buffer).set(bytes);
      return new Float64Array(values);
    }
    case 'F16':
      return new Float64Array(decodeFloat16(bytes));
    case 'BF16':
      return new Float64Array(decodeBfloat16(bytes));
    default:
      throw new Error(`${dtype} is not a float dtype`);
  }
}

/**
 * The values of float tensor bytes without widening: a zero-copy view of F32 and F64 bytes when
 * aligned (a copy otherwise), decoded float32 for F16 and BF16. Every value is exact.
 */
export function floatValues(bytes: Uint8Array, dtype: Dtype): Float32Array | Float64Array {
  switch (dtype) {
    case 'F64':
      if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      return decodeToFloat64(bytes, dtype);
    case 'F32': {
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F16':
      return decodeFloat16(bytes);
    case 'BF16':
      return decodeBfloat16(bytes);
    default:
      throw new Error(`${dtype} is not a float dtype`);
  }
}

/**
 * Rounds float64 values once to `dtype` and returns their little-endian bytes. float16 and bfloat16
 * go through float32 (the project's converters), so they may round twice; float32 and float64 round
 * once, which keeps a soup of identical checkpoints bit-identical to them.
 */
export function encodeFromFloat64(values: Float64Array, dtype: Dtype): Uint8Array {
  switch (dtype) {
    case 'F64':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F32': {
      const out = new Float32Array(values);
      return new Uint8Array(out.buffer);
    }
    case 'F16':
      return encodeFloat16(values);
    case 'BF16':
      return encodeBfloat16(values);
    default:
      throw new Error(`${dtype} is not a float dtype`);
  }
}
