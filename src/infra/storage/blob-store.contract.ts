import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobNotFoundError, BlobTooLargeError, type BlobStore, type StagedBlob } from '../../core/storage/blob-store.port';

/**
 * The BlobStore contract, run against every adapter (the filesystem store in the unit tier, the S3
 * store against a real S3-compatible server in the integration tier). Only the port is used, plus
 * the local staging folder both adapters keep.
 */

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Byte equality without Jest's slow element-by-element diff of large buffers. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

export async function* chunksOf(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function readStaged(store: BlobStore, staged: StagedBlob): Promise<Uint8Array> {
  const source = await store.openStaged(staged);
  try {
    return await source.read(0, source.size);
  } finally {
    await source.close();
  }
}

export interface ContractSubject {
  store: BlobStore;
  /** The store's local staging folder. */
  stagingDir: string;
  cleanup: () => Promise<void>;
}

export function blobStoreContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`${name} (BlobStore contract)`, () => {
    let store: BlobStore;
    let stagingDir: string;
    let cleanup: () => Promise<void>;
    const data = randomBytes(200_000);

    beforeEach(async () => {
      ({ store, stagingDir, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    const staged = async (): Promise<string[]> => readdir(stagingDir);

    it('stage hashes while streaming; the bytes are staged, not stored', async () => {
      const s = await store.stage(chunksOf(data, 7_001));
      expect(s.sha256).toBe(sha256(data));
      expect(s.size).toBe(data.length);
      expectSameBytes(await readStaged(store, s), data);
      expect(await staged()).toHaveLength(1);
      expect(await store.exists(s.sha256)).toBe(false);
      expect(await all(store.list())).toEqual([]);
    });

    it('stage accepts a Node Readable and an empty source', async () => {
      const s = await store.stage(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      expect(s).toMatchObject({ size: 11, sha256: sha256(Buffer.from('hello world')) });
      const empty = await store.stage(chunksOf(new Uint8Array(0), 1));
      expect(empty).toMatchObject({ size: 0, sha256: sha256(new Uint8Array(0)) });
    });

    it('commit publishes under the digest and leaves nothing staged', async () => {
      const s = await store.stage(chunksOf(data, 65_536));
      await expect(store.commit(s)).resolves.toEqual({ sha256: s.sha256, size: data.length, existed: false });
      expect(await store.exists(s.sha256)).toBe(true);
      expect(await store.size(s.sha256)).toBe(data.length);
      expectSameBytes(await collect(await store.read(s.sha256)), data);
      expect(await staged()).toEqual([]);
      expect(await all(store.list())).toEqual([s.sha256]);
    });

    it('commit is idempotent: identical bytes report existed and drop the second staged copy', async () => {
      await store.commit(await store.stage(chunksOf(data, 10_000)));
      const again = await store.stage(chunksOf(data, 33_333));
      await expect(store.commit(again)).resolves.toEqual({ sha256: sha256(data), size: data.length, existed: true });
      expect(await staged()).toEqual([]);
      expect(await all(store.list())).toEqual([sha256(data)]);
    });

    it('a staged writer hashes what is written once; abort leaves nothing', async () => {
      const writer = store.createStagedWriter();
      for await (const chunk of chunksOf(data, 9_999)) if (!writer.stream.write(chunk)) await new Promise((r) => writer.stream.once('drain', r));
      const s = await writer.finish();
      expect(s).toMatchObject({ sha256: sha256(data), size: data.length });
      await expect(store.commit(s)).resolves.toMatchObject({ existed: false });
      expectSameBytes(await collect(await store.read(s.sha256)), data);

      const dropped = store.createStagedWriter();
      dropped.stream.write(data.subarray(0, 1000));
      await dropped.abort();
      expect(await staged()).toEqual([]);
    });

    it('a staged writer whose producer ends the stream itself still finishes', async () => {
      const writer = store.createStagedWriter();
      writer.stream.end(Buffer.from('ended by the producer'));
      await expect(writer.finish()).resolves.toMatchObject({ sha256: sha256(Buffer.from('ended by the producer')) });
    });

    it('stage and a staged writer past maxBytes fail with BlobTooLargeError and leave nothing', async () => {
      const error = await store.stage(chunksOf(data, 1_000), { maxBytes: 50_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlobTooLargeError);
      expect((error as BlobTooLargeError).limit).toBe(50_000);
      const writer = store.createStagedWriter({ maxBytes: 10 });
      writer.stream.on('error', () => undefined);
      writer.stream.write(data.subarray(0, 100));
      await expect(writer.finish()).rejects.toBeInstanceOf(BlobTooLargeError);
      await writer.abort();
      expect(await staged()).toEqual([]);
      // Exactly at the limit is fine.
      await expect(store.stage(chunksOf(data.subarray(0, 50_000), 1_000), { maxBytes: 50_000 })).resolves.toMatchObject({ size: 50_000 });
    });

    it('a source that fails midway, or before its first byte, leaves nothing staged', async () => {
      async function* failing(): AsyncIterable<Uint8Array> {
        yield data.subarray(0, 10_000);
        throw new Error('client went away');
      }
      await expect(store.stage(failing())).rejects.toThrow('client went away');
      // eslint-disable-next-line require-yield
      async function* failingAtOnce(): AsyncIterable<Uint8Array> {
        throw new Error('aborted at once');
      }
      await expect(store.stage(failingAtOnce())).rejects.toThrow('aborted at once');
      const source = new Readable({ read() {} });
      source.push(data.subarray(0, 30_000));
      setTimeout(() => source.destroy(new Error('socket reset')), 5);
      await expect(store.stage(source)).rejects.toThrow('socket reset');
      expect(await staged()).toEqual([]);
    });

    it('discard removes staged bytes; discard and commit refuse blobs this store did not stage', async () => {
      const s = await store.stage(chunksOf(data, 50_000));
      await store.discard(s);
      expect(await staged()).toEqual([]);
      await expect(store.discard(s)).resolves.toBeUndefined();
      const forged: StagedBlob = { sha256: sha256(data), size: data.length };
      await expect(store.commit(forged)).rejects.toThrow(/not a blob staged by this store/);
      await expect(store.discard(forged)).rejects.toThrow(/not a blob staged by this store/);
      expect(await store.exists(sha256(data))).toBe(false);
    });

    it('read returns the whole blob, or exactly an inclusive byte range', async () => {
      const { sha256: hash } = await store.commit(await store.stage(chunksOf(data, 40_000)));
      expectSameBytes(await collect(await store.read(hash, { start: 0, end: 0 })), data.subarray(0, 1));
      expectSameBytes(await collect(await store.read(hash, { start: 1234, end: 98_765 })), data.subarray(1234, 98_766));
      expectSameBytes(await collect(await store.read(hash, { start: data.length - 10, end: data.length - 1 })), data.subarray(data.length - 10));
    });

    it('random access reads any span, small or large', async () => {
      const { sha256: hash } = await store.commit(await store.stage(chunksOf(data, 40_000)));
      const source = await store.openRandomAccess(hash);
      try {
        expect(source.size).toBe(data.length);
        for (const [offset, length] of [[0, 8], [7, 1], [100_000, 99_999], [199_990, 10], [0, data.length], [150_000, 0]]) {
          expectSameBytes(await source.read(offset, length), data.subarray(offset, offset + length));
        }
        await expect(source.read(data.length - 5, 10)).rejects.toThrow(RangeError);
      } finally {
        await source.close();
      }
    });

    it('a blob that is not stored is BlobNotFoundError for size, read and random access', async () => {
      const missing = sha256(Buffer.from('never stored'));
      expect(await store.exists(missing)).toBe(false);
      await expect(store.size(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.read(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.openRandomAccess(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('list yields every committed digest; delete removes one (and is idempotent)', async () => {
      const hashes: string[] = [];
      for (let i = 0; i < 3; i++) hashes.push((await store.commit(await store.stage(chunksOf(randomBytes(100 + i), 64)))).sha256);
      expect((await all(store.list())).sort()).toEqual([...hashes].sort());
      await store.delete(hashes[1]);
      expect(await store.exists(hashes[1])).toBe(false);
      expect((await all(store.list())).sort()).toEqual([hashes[0], hashes[2]].sort());
      await expect(store.delete(hashes[1])).resolves.toBeUndefined();
    });

    it('rejects malformed digests', async () => {
      await expect(store.exists('../../etc/passwd')).rejects.toThrow(/not a sha256/);
      await expect(store.read('A'.repeat(64))).rejects.toThrow(/not a sha256/);
      await expect(store.delete('abc')).rejects.toThrow(/not a sha256/);
    });

    it('cleanTemporary removes leftovers in the staging folder and returns how many', async () => {
      await store.stage(chunksOf(data, 50_000));
      await writeFile(join(stagingDir, 'staged-crash-leftover'), 'partial');
      await mkdir(join(stagingDir, 'a-folder'));
      await writeFile(join(stagingDir, 'a-folder', 'weights.bin'), 'partial');
      const { sha256: kept } = await store.commit(await store.stage(chunksOf(Buffer.from('kept'), 4)));
      await expect(store.cleanTemporary()).resolves.toBe(3);
      expect(await staged()).toEqual([]);
      expect(await store.exists(kept)).toBe(true);
      await expect(store.cleanTemporary()).resolves.toBe(0);
    });

    it('check() passes on a working store and leaves nothing behind', async () => {
      await expect(store.check()).resolves.toBeUndefined();
      expect(await staged()).toEqual([]);
    });
  });
}
