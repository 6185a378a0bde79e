import type { RandomAccessSource } from '../../io/random-access';
import { pickleError } from './pickle-values';

const CHUNK_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Buffered, bounds-checked reading of a pickle stream that lives in [start, end) of a source.
 * `ensure(n)` must be awaited (when it returns a promise) before the synchronous getters.
 */
export class PickleInput {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private view = new DataView(this.buf.buffer);
  pos: number;

  constructor(
    readonly source: RandomAccessSource,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Makes `n` bytes at `pos` available; undefined when they already are. */
  ensure(n: number): Promise<void> | undefined {
    if (n > this.end - this.pos) {
      throw pickleError(`pickle truncated: needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`, { offset: this.pos });
    }
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.byteLength) return undefined;
    return this.fill(n);
  }

  /** Checks that `n` bytes remain; callers guarantee they are already buffered (via a lookahead). */
  require(n: number): void {
    if (n > this.end - this.pos) {
      throw pickleError(`pickle truncated: needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`, { offset: this.pos });
    }
  }

  private async fill(n: number): Promise<void> {
    const length = Math.min(this.end - this.pos, Math.max(n, CHUNK_BYTES));
    this.buf = await this.source.read(this.pos, length);
    this.bufStart = this.pos;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    // Guards the lookahead invariant, so that a reader bug can never surface as a RangeError.
    if (i < 0 || i + n > this.buf.byteLength) throw pickleError(`pickle read of ${n} bytes at offset ${this.pos} outside the buffer`);
    this.pos += n;
    return i;
  }

  u8(): number {
    return this.buf[this.at(1)];
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  /** A u64 length; anything beyond the safe-integer range cannot fit in a source anyway. */
  u64(): number {
    const i = this.at(8);
    const low = this.view.getUint32(i, true);
    const high = this.view.getUint32(i + 4, true);
    if (high > 0x1fffff) throw pickleError(`declared length too large at offset ${this.pos - 8}`);
    return high * 0x100000000 + low;
  }
  f64be(): number {
    return this.view.getFloat64(this.at(8), false);
  }
  /** `n` bytes (a view, not a copy; callers must not write into it). */
  bytes(n: number): Uint8Array {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }

  /** Skips `n` bytes after checking they exist; used for payloads left in the source. */
  skip(n: number): void {
    if (n > this.remaining) throw pickleError(`pickle truncated: payload of ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
    this.pos += n;
  }

  /** Reads up to and excluding the next '\n' (protocol 0 arguments). */
  async line(): Promise<Uint8Array> {
    let want = Math.min(256, this.remaining);
    for (;;) {
      const pending = this.ensure(want);
      if (pending) await pending;
      const i = this.pos - this.bufStart;
      const nl = this.buf.subarray(i, i + want).indexOf(0x0a);
      if (nl >= 0) {
        const out = this.bytes(nl);
        this.pos += 1;
        return out;
      }
      if (want >= this.remaining) throw pickleError(`pickle truncated: unterminated line at offset ${this.pos}`);
      if (want >= MAX_LINE_BYTES) throw pickleError(`pickle line longer than ${MAX_LINE_BYTES} bytes at offset ${this.pos}`);
      want = Math.min(want * 4, this.remaining, MAX_LINE_BYTES);
    }
  }
}
