import { createHash } from 'node:crypto';

export const MiB = 1024 * 1024;

/**
 * A cheap, non-zero float32 pattern: one 1 MiB block per seed, repeated. Chunks are shared and must
 * not be modified by consumers.
 */
export function patternBlock(seed: number, bytes = MiB): Buffer {
  const block = Buffer.allocUnsafe(bytes);
  const floats = new Float32Array(block.buffer, block.byteOffset, bytes / 4);
  for (let i = 0; i < floats.length; i++) floats[i] = (((i * 2654435761 + seed * 40503) >>> 0) % 2001) / 1000 - 1;
  return block;
}

/** Yields `byteLength` bytes of the seed's pattern in chunks of at most 1 MiB. */
export function* patternChunks(seed: number, byteLength: number, block = patternBlock(seed)): Generator<Buffer> {
  for (let done = 0; done < byteLength; done += block.length) yield block.subarray(0, Math.min(block.length, byteLength - done));
}

export interface GeneratedTensor {
  name: string;
  shape: number[];
  byteLength: number;
  seed: number;
}

export interface GeneratedSafetensors {
  tensors: GeneratedTensor[];
  header: Buffer;
  totalBytes: number;
  /** The file's bytes, chunk by chunk (header first); never the whole file in memory. */
  chunks(): Generator<Buffer>;
}

/** A safetensors file of `dataBytes` (a multiple of 4 KiB) split into F32 tensors of at most 256 MiB. */
export function generatedSafetensors(dataBytes: number): GeneratedSafetensors {
  const maxTensor = 256 * MiB;
  const tensors: GeneratedTensor[] = [];
  for (let offset = 0, i = 0; offset < dataBytes; i++) {
    const byteLength = Math.min(maxTensor, dataBytes - offset);
    tensors.push({ name: `blocks.${i}.weight`, shape: [byteLength / 4096, 1024], byteLength, seed: i + 1 });
    offset += byteLength;
  }
  const entries: Record<string, unknown> = { __metadata__: { generator: 'weightsmith bench' } };
  let offset = 0;
  for (const t of tensors) {
    entries[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = JSON.stringify(entries);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const header = Buffer.alloc(8 + json.length);
  header.writeBigUInt64LE(BigInt(json.length));
  header.write(json, 8, 'utf8');
  return {
    tensors,
    header,
    totalBytes: header.length + dataBytes,
    *chunks() {
      yield header;
      for (const t of tensors) yield* patternChunks(t.seed, t.byteLength);
    },
  };
}

/** sha256 of a chunk sequence. */
export function sha256Of(chunks: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex');
}
