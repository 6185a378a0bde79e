import { Readable, pipeline } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';

/** A deflated zip entry: where its compressed bytes lie in the archive and what it declares. */
export interface DeflatedEntry {
  readonly name: string;
  readonly dataOffset: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

const INPUT_CHUNK_BYTES = 1024 * 1024;
const OUTPUT_CHUNK_BYTES = 256 * 1024;
/**
 * A read behind the inflater's position starts over from the entry's first byte. Reads in file
 * order (what the converter does) never start over; views of one storage read out of order may, a
 * few times: past this many entries' worth of inflating, the archive is refused.
 */
const MAX_PASSES = 4;
const PASS_ALLOWANCE_BYTES = 16 * 1024 * 1024;

function invalid(entry: DeflatedEntry, message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', `invalid zip archive: entry ${entry.name} ${message}`);
}

async function* compressedChunks(parent: RandomAccessSource, entry: DeflatedEntry): AsyncGenerator<Uint8Array> {
  for (let done = 0; done < entry.compressedSize; done += INPUT_CHUNK_BYTES) {
    yield await parent.read(entry.dataOffset + done, Math.min(INPUT_CHUNK_BYTES, entry.compressedSize - done));
  }
}

/** One pass of the inflater over the entry: the last chunk of output it produced, and where it lies. */
class InflatePass {
  private readonly output: AsyncIterator<Buffer>;
  private readonly stream: NodeJS.ReadableStream & { destroy(): void };
  window: Uint8Array = new Uint8Array(0);
  windowStart = 0;

  constructor(
    parent: RandomAccessSource,
    private readonly entry: DeflatedEntry,
    private readonly produced: (bytes: number) => void,
  ) {
    this.stream = pipeline(Readable.from(compressedChunks(parent, entry)), createInflateRaw({ chunkSize: OUTPUT_CHUNK_BYTES }), () => undefined);
    this.output = (this.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  get windowEnd(): number {
    return this.windowStart + this.window.byteLength;
  }

  /** Moves the window to the next chunk of output; refuses an entry that inflates to more or less than it declares. */
  async advance(): Promise<void> {
    const next = await this.pull();
    if (next === null) throw invalid(this.entry, `inflates to ${this.windowEnd} bytes but declares ${this.entry.uncompressedSize}`);
    this.windowStart = this.windowEnd;
    this.window = next;
    this.produced(next.byteLength);
    if (this.windowEnd > this.entry.uncompressedSize) throw invalid(this.entry, `inflates past its declared ${this.entry.uncompressedSize} bytes`);
    if (this.windowEnd === this.entry.uncompressedSize && (await this.pull()) !== null) {
      throw invalid(this.entry, `inflates past its declared ${this.entry.uncompressedSize} bytes`);
    }
  }

  private async pull(): Promise<Buffer | null> {
    for (;;) {
      let result: IteratorResult<Buffer>;
      try {
        result = await this.output.next();
      } catch (e) {
        if (e instanceof CoreError) throw e;
        throw invalid(this.entry, `does not inflate: ${(e as Error).message}`);
      }
      if (result.done) return null;
      if (result.value.byteLength > 0) return result.value;
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

/**
 * A deflated zip entry as a source that inflates on demand: asynchronously (zlib runs in the libuv
 * pool, so the event loop keeps serving) and a chunk at a time, never holding the whole entry. An
 * entry whose data inflates to more or fewer bytes than its declared size is refused when the
 * difference is reached, so nothing beyond the declared size is ever produced.
 */
export function inflatingSource(parent: RandomAccessSource, entry: DeflatedEntry): RandomAccessSource {
  const budget = MAX_PASSES * entry.uncompressedSize + PASS_ALLOWANCE_BYTES;
  let inflated = 0;
  let pass: InflatePass | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const produced = (bytes: number): void => {
    inflated += bytes;
    if (inflated > budget) {
      throw new CoreError('TORCH_UNSUPPORTED', `deflated zip entry ${entry.name} is read out of order too often; store its entries uncompressed, as torch.save does`);
    }
  };

  async function readAt(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    if (!pass || offset < pass.windowStart) {
      pass?.close();
      pass = new InflatePass(parent, entry, produced);
    }
    const current = pass;
    try {
      for (let filled = 0; filled < length; ) {
        const at = offset + filled;
        if (at < current.windowEnd) {
          const from = at - current.windowStart;
          const n = Math.min(length - filled, current.window.byteLength - from);
          out.set(current.window.subarray(from, from + n), filled);
          filled += n;
        } else {
          await current.advance();
        }
      }
    } catch (e) {
      current.close();
      pass = null;
      throw e;
    }
    return out;
  }

  return {
    size: entry.uncompressedSize,
    read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > entry.uncompressedSize) {
        return Promise.reject(new RangeError(`read of ${length} bytes at ${offset} is outside an entry of ${entry.uncompressedSize} bytes`));
      }
      // One inflater per entry: reads run one after the other.
      const result = queue.then(() => readAt(offset, length));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      pass?.close();
      pass = null;
    },
  };
}
