import { open, type FileHandle } from 'node:fs/promises';

/**
 * A byte source read at arbitrary offsets. Format readers take this instead of a Buffer so that
 * multi-GB files are never loaded whole: they read headers, then tensor bytes on demand.
 */
export interface RandomAccessSource {
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; rejects when the range is outside [0, size). */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`read of ${length} bytes at ${offset} is outside a source of ${size} bytes`);
  }
}

export function bufferSource(bytes: Uint8Array): RandomAccessSource {
  return {
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(offset, length, bytes.byteLength);
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
}

export async function fileSource(path: string): Promise<RandomAccessSource> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      checkRange(offset, length, size);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`unexpected end of file at ${offset + done}`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}

/** Opens a file source, runs `fn`, and always closes it. */
export async function withFileSource<T>(path: string, fn: (source: RandomAccessSource) => Promise<T>): Promise<T> {
  const source = await fileSource(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}
