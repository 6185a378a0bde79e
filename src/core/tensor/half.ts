/**
 * IEEE float16 and bfloat16 conversions. Node 20 has no Float16Array, so checkpoint readers and
 * the tensor statistics decode 16-bit floats here. Encoding rounds to nearest, ties to even, from
 * the float32 value (like PyTorch's `.half()` / `.bfloat16()` on a float32 tensor).
 */

const scratch = new DataView(new ArrayBuffer(4));

function float32Bits(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

/** Decodes the 16 bits of an IEEE binary16 value. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Decodes the 16 bits of a bfloat16 value (the upper half of a float32). */
export function bfloat16ToFloat32(bits: number): number {
  return float32FromBits((bits & 0xffff) << 16);
}

/** Rounds a number to float32, then to binary16 (ties to even); overflow gives ±Infinity. */
export function float32ToFloat16(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  // NaN keeps its top payload bits and stays quiet; Infinity stays Infinity.
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal (or zero) in binary16: shift the full 24-bit significand into the 10-bit field.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShifted(mantissa, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  return sign | roundShifted((halfExponent << 23) | mantissa, 13);
}

/** Rounds a number to float32, then to bfloat16 (ties to even); NaN stays a quiet NaN. */
export function float32ToBfloat16(value: number): number {
  const bits = float32Bits(value);
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return roundShifted(bits, 16) & 0xffff;
}

/** `value >>> shift`, rounded to nearest with ties to even. */
function roundShifted(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && kept & 1) ? kept + 1 : kept;
}

let float16Table: Float32Array | null = null;

/** All 65536 binary16 values, decoded once on first use (fast bulk decoding). */
export function float16LookupTable(): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) float16Table[i] = float16ToFloat32(i);
  }
  return float16Table;
}

/** Decodes little-endian binary16 bytes (any alignment) to float32 values. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const table = float16LookupTable();
  const out = new Float32Array(bytes.byteLength >>> 1);
  for (let i = 0, b = 0; i < out.length; i++, b += 2) out[i] = table[bytes[b] | (bytes[b + 1] << 8)];
  return out;
}

/** Decodes little-endian bfloat16 bytes (any alignment) to float32 values. */
export function decodeBfloat16(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength >>> 1);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0, b = 0; i < out.length; i++, b += 2) outBits[i] = ((bytes[b] | (bytes[b + 1] << 8)) << 16) >>> 0;
  return out;
}

/** Encodes values as little-endian binary16 bytes. */
export function encodeFloat16(values: ArrayLike<number>): Uint8Array {
  return encode16(values, float32ToFloat16);
}

/** Encodes values as little-endian bfloat16 bytes. */
export function encodeBfloat16(values: ArrayLike<number>): Uint8Array {
  return encode16(values, float32ToBfloat16);
}

function encode16(values: ArrayLike<number>, toBits: (value: number) => number): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const bits = toBits(values[i]);
    out[2 * i] = bits & 0xff;
    out[2 * i + 1] = bits >>> 8;
  }
  return out;
}
