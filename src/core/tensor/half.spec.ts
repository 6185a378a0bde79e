import fc from 'fast-check';
import {
  bfloat16ToFloat32,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './half';

/** Names cases by their bit pattern in hex. */
function cases(list: [number, number][]): { hex: string; bits: number; value: number }[] {
  return list.map(([bits, value]) => ({ hex: bits.toString(16).padStart(4, '0'), bits, value }));
}

function encodeCases(list: [number, number][]): { hex: string; bits: number; value: number }[] {
  return cases(list.map(([value, bits]) => [bits, value]));
}

/** Nearest binary16 value computed arithmetically (ties to even), independent of the bit code. */
function nearestHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const ulp = 2 ** (exponent - 10);
  const q = Math.abs(x) / ulp;
  const floor = Math.floor(q);
  const rounded = q - floor > 0.5 || (q - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const magnitude = rounded * ulp;
  return Math.sign(x) * (magnitude >= 65520 ? Infinity : magnitude);
}

describe('float16', () => {
  it.each(cases([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x03ff, 1023 * 2 ** -24],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0000, 0],
  ]))('decodes 0x$hex', ({ bits, value }) => {
    expect(float16ToFloat32(bits)).toBe(value);
  });

  it('decodes -0, NaN payloads and bulk little-endian bytes', () => {
    expect(Object.is(float16ToFloat32(0x8000), -0)).toBe(true);
    expect(float16ToFloat32(0x7e00)).toBeNaN();
    expect(float16ToFloat32(0xfc01)).toBeNaN();
    const bytes = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0xc0]); // odd offset, as in a shared pool
    expect(Array.from(decodeFloat16(bytes.subarray(1)))).toEqual([1, -2]);
  });

  it.each(encodeCases([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // halfway to 65536: ties to even overflow
    [1e6, 0x7c00],
    [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even
    [1.5 * 2 ** -25, 0x0001],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [-Infinity, 0xfc00],
  ]))('encodes $value as 0x$hex', ({ bits, value }) => {
    expect(float32ToFloat16(value)).toBe(bits);
  });

  it('encodes -0 and NaN', () => {
    expect(float32ToFloat16(-0)).toBe(0x8000);
    expect(float16ToFloat32(float32ToFloat16(NaN))).toBeNaN();
  });

  it('round-trips every non-NaN bit pattern', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = float16ToFloat32(bits);
      if (!Number.isNaN(value) && float32ToFloat16(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('rounds arbitrary float32 values to the nearest binary16 value', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(float16ToFloat32(float32ToFloat16(x))).toBe(nearestHalf(x));
      }),
      { numRuns: 3000 },
    );
  });

  it('encodes arrays little-endian', () => {
    expect(Array.from(encodeFloat16([1, -2]))).toEqual([0x00, 0x3c, 0x00, 0xc0]);
  });
});

describe('bfloat16', () => {
  it.each(cases([
    [0x3f80, 1],
    [0xc000, -2],
    [0x4049, 3.140625],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0001, 2 ** -133],
  ]))('decodes 0x$hex', ({ bits, value }) => {
    expect(bfloat16ToFloat32(bits)).toBe(value);
  });

  it('decodes NaN and bulk bytes at any alignment', () => {
    expect(bfloat16ToFloat32(0x7fc0)).toBeNaN();
    const bytes = new Uint8Array([0x00, 0x80, 0x3f, 0x00, 0xc0]);
    expect(Array.from(decodeBfloat16(bytes.subarray(1)))).toEqual([1, -2]);
  });

  it.each(encodeCases([
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80], // halfway: ties to even
    [1 + 3 * 2 ** -8, 0x3f82],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to Infinity
    [-2, 0xc000],
  ]))('encodes $value as 0x$hex', ({ bits, value }) => {
    expect(float32ToBfloat16(value)).toBe(bits);
  });

  it('encodes NaN as a quiet NaN and round-trips every non-NaN bit pattern', () => {
    expect(float32ToBfloat16(NaN)).toBe(0x7fc0);
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = bfloat16ToFloat32(bits);
      if (!Number.isNaN(value) && float32ToBfloat16(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
    expect(Array.from(encodeBfloat16([1]))).toEqual([0x80, 0x3f]);
  });
});
