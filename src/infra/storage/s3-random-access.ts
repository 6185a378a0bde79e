import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RandomAccessSource } from '../../core/io/random-access';

const MiB = 1024 * 1024;

/**
 * Random access to one S3 object through ranged GETs. Reads of a block or more go straight to S3;
 * smaller ones (headers, small tensors, a pickle's records) are served from aligned blocks kept in
 * a small LRU, so a format reader's many small reads cost a few requests.
 */
export class S3RandomAccess implements RandomAccessSource {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    readonly size: number,
    private readonly blockBytes = 4 * MiB,
    private readonly maxBlocks = 8,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read of ${length} bytes at ${offset} is outside a source of ${this.size} bytes`);
    }
    if (length === 0) return new Uint8Array(0);
    if (length >= this.blockBytes) return this.fetch(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / this.blockBytes);
      const block = await this.block(index);
      const from = at - index * this.blockBytes;
      const n = Math.min(length - done, block.length - from);
      out.set(block.subarray(from, from + n), done);
      done += n;
    }
    return out;
  }

  async close(): Promise<void> {
    this.blocks.clear();
  }

  private block(index: number): Promise<Uint8Array> {
    let block = this.blocks.get(index);
    if (block) {
      this.blocks.delete(index); // most recently used last
      this.blocks.set(index, block);
      return block;
    }
    const start = index * this.blockBytes;
    block = this.fetch(start, Math.min(this.blockBytes, this.size - start));
    block.catch(() => this.blocks.delete(index));
    this.blocks.set(index, block);
    while (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value as number);
    return block;
  }

  private async fetch(offset: number, length: number): Promise<Uint8Array> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${offset}-${offset + length - 1}` }));
    if (!res.Body) throw new Error(`S3 returned no body for ${this.key} bytes ${offset}+${length}`);
    const bytes = await res.Body.transformToByteArray();
    if (bytes.length !== length) throw new RangeError(`S3 returned ${bytes.length} bytes for a range of ${length} at ${offset} of ${this.key}`);
    return bytes;
  }
}
