import { serializeSafetensors } from '../../src/core/formats/safetensors';

/** A small valid safetensors file: `a` = [0, 1, 2, 3, 0, -5] (F32, 2x3) and `b` = I64 [7]. */
export function smallCheckpoint(seed = 0): Buffer {
  const a = new Float32Array([0, 1, 2, 3, 0, -5 - seed]);
  const b = new BigInt64Array([7n]);
  return Buffer.from(
    serializeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: new Uint8Array(a.buffer) },
        { name: 'b', dtype: 'I64', shape: [1], data: new Uint8Array(b.buffer) },
      ],
      { note: 'test' },
    ),
  );
}

/** Builds a raw safetensors file from a header object and a data section (for malformed cases). */
export function rawSafetensors(header: unknown, data: Buffer = Buffer.alloc(0), headerLengthOverride?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLengthOverride ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}
