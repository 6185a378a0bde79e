import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobTooLargeError, type BlobStore } from '../../core/storage/blob-store.port';
import { FsBlobStore } from './fs-blob-store';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Byte equality without Jest's slow element-by-element diff of large buffers. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The BlobStore contract, runnable against any implementation that keeps temp files in `tmpDir`. */
function blobStoreContract(name: string, make: () => Promise<{ store: BlobStore; tmpDir: string; cleanup: () => Promise<void> }>): void {
  describe(`${name} (BlobStore contract)`, () => {
    let store: BlobStore;
    let tmpDir: string;
    let cleanup: () => Promise<void>;
    const data = randomBytes(200_000);

    beforeEach(async () => {
      ({ store, tmpDir, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    const tempFiles = async (): Promise<string[]> => readdir(tmpDir);

    it('stage hashes while streaming and writes to the temporary folder only', async () => {
      const staged = await store.stage(chunksOf(data, 7_001));
      expect(staged.sha256).toBe(sha256(data));
      expect(staged.size).toBe(data.length);
      expect(staged.path.startsWith(tmpDir)).toBe(true);
      expectSameBytes(await readFile(staged.path), data);
      expect(await store.exists(staged.sha256)).toBe(false);
      expect(await all(store.list())).toEqual([]);
    });

    it('stage accepts a Node Readable and an empty source', async () => {
      const staged = await store.stage(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      expect(staged).toMatchObject({ size: 11, sha256: sha256(Buffer.from('hello world')) });
      const empty = await store.stage(chunksOf(new Uint8Array(0), 1));
      expect(empty).toMatchObject({ size: 0, sha256: sha256(new Uint8Array(0)) });
    });

    it('commit publishes under sha256/ab/cd/<hash> and removes the temporary file', async () => {
      const staged = await store.stage(chunksOf(data, 65_536));
      const hash = staged.sha256;
      await expect(store.commit(staged)).resolves.toEqual({ sha256: hash, size: data.length, existed: false });
      expect(store.localPath(hash).endsWith(join('sha256', hash.slice(0, 2), hash.slice(2, 4), hash))).toBe(true);
      expectSameBytes(await readFile(store.localPath(hash)), data);
      expect(existsSync(staged.path)).toBe(false);
      expect(await store.exists(hash)).toBe(true);
      expect(await store.size(hash)).toBe(data.length);
      expect(await tempFiles()).toEqual([]);
    });

    it('commit is idempotent: identical bytes report existed and drop the second temporary file', async () => {
      await store.commit(await store.stage(chunksOf(data, 10_000)));
      const again = await store.stage(chunksOf(data, 33_333));
      await expect(store.commit(again)).resolves.toEqual({ sha256: sha256(data), size: data.length, existed: true });
      expect(existsSync(again.path)).toBe(false);
      expect(await tempFiles()).toEqual([]);
      expect(await all(store.list())).toEqual([sha256(data)]);
    });

    it('stage past maxBytes fails with BlobTooLargeError and leaves no temporary file', async () => {
      const error = await store.stage(chunksOf(data, 1_000), { maxBytes: 50_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlobTooLargeError);
      expect((error as BlobTooLargeError).limit).toBe(50_000);
      expect(await tempFiles()).toEqual([]);
      // Exactly at the limit is fine.
      await expect(store.stage(chunksOf(data.subarray(0, 50_000), 1_000), { maxBytes: 50_000 })).resolves.toMatchObject({ size: 50_000 });
    });

    it('a source that fails midway leaves no temporary file', async () => {
      async function* failing(): AsyncIterable<Uint8Array> {
        yield data.subarray(0, 10_000);
        yield data.subarray(10_000, 20_000);
        throw new Error('client went away');
      }
      await expect(store.stage(failing())).rejects.toThrow('client went away');
      expect(await tempFiles()).toEqual([]);
    });

    it('a Node stream that emits an error midway leaves no temporary file', async () => {
      const source = new Readable({ read() {} });
      source.push(data.subarray(0, 30_000));
      setTimeout(() => source.destroy(new Error('socket reset')), 5);
      await expect(store.stage(source)).rejects.toThrow('socket reset');
      expect(await tempFiles()).toEqual([]);
    });

    it('a source that fails before its first byte leaves no temporary file', async () => {
      // eslint-disable-next-line require-yield
      async function* failing(): AsyncIterable<Uint8Array> {
        throw new Error('aborted at once');
      }
      await expect(store.stage(failing())).rejects.toThrow('aborted at once');
      expect(await tempFiles()).toEqual([]);
    });

    it('discard removes a staged file; discard, adopt and commit refuse paths outside the temporary folder', async () => {
      const staged = await store.stage(chunksOf(data, 50_000));
      await store.discard(staged);
      expect(existsSync(staged.path)).toBe(false);
      const outside = join(tmpDir, '..', 'outside.bin');
      await writeFile(outside, 'do not touch');
      await expect(store.discard(outside)).rejects.toThrow(/not a temporary blob/);
      await expect(store.discard(join(tmpDir, '..', 'tmp', '..', 'outside.bin'))).rejects.toThrow(/not a temporary blob/);
      await expect(store.adopt(outside)).rejects.toThrow(/not a temporary blob/);
      await expect(store.commit({ path: outside, size: 12, sha256: sha256(Buffer.from('do not touch')) })).rejects.toThrow(/not a temporary blob/);
      await expect(store.discard(tmpDir)).rejects.toThrow(/not a temporary blob/);
      expect(await readFile(outside, 'utf8')).toBe('do not touch');
    });

    it('adopt hashes a file written at tempPath(), which then commits', async () => {
      const path = store.tempPath('.safetensors');
      expect(path.startsWith(tmpDir)).toBe(true);
      expect(path.endsWith('.safetensors')).toBe(true);
      expect(store.tempPath()).not.toBe(store.tempPath());
      await writeFile(path, data);
      const staged = await store.adopt(path);
      expect(staged).toEqual({ path, size: data.length, sha256: sha256(data) });
      await expect(store.commit(staged)).resolves.toMatchObject({ existed: false });
    });

    it('adopt takes the digest a writer computed instead of reading the file again, but checks its size', async () => {
      const path = store.tempPath();
      await writeFile(path, data);
      const digest = { sha256: sha256(data), size: data.length };
      await expect(store.adopt(path, digest)).resolves.toEqual({ path, ...digest });
      await expect(store.adopt(path, { ...digest, size: data.length + 1 })).rejects.toThrow(/does not match/);
      await expect(store.adopt(path, { ...digest, sha256: 'not-a-digest' })).rejects.toThrow(/does not match/);
    });

    it('read returns the whole blob, or exactly an inclusive byte range', async () => {
      const { sha256: hash } = await store.commit(await store.stage(chunksOf(data, 40_000)));
      expectSameBytes(await collect(store.read(hash)), data);
      expectSameBytes(await collect(store.read(hash, { start: 0, end: 0 })), data.subarray(0, 1));
      expectSameBytes(await collect(store.read(hash, { start: 1234, end: 98_765 })), data.subarray(1234, 98_766));
      expectSameBytes(await collect(store.read(hash, { start: data.length - 10, end: data.length - 1 })), data.subarray(data.length - 10));
    });

    it('list yields every committed hash; delete removes one', async () => {
      const hashes: string[] = [];
      for (let i = 0; i < 3; i++) hashes.push((await store.commit(await store.stage(chunksOf(randomBytes(100 + i), 64)))).sha256);
      expect((await all(store.list())).sort()).toEqual([...hashes].sort());
      await store.delete(hashes[1]);
      expect(await store.exists(hashes[1])).toBe(false);
      expect((await all(store.list())).sort()).toEqual([hashes[0], hashes[2]].sort());
      await expect(store.delete(hashes[1])).resolves.toBeUndefined();
    });

    it('rejects malformed digests', async () => {
      expect(() => store.localPath('../../etc/passwd')).toThrow(/not a sha256/);
      expect(() => store.localPath('A'.repeat(64))).toThrow(/not a sha256/);
      await expect(store.exists('abc')).rejects.toThrow(/not a sha256/);
    });

    it('cleanTemporary removes leftovers and returns how many', async () => {
      await store.stage(chunksOf(data, 50_000));
      await writeFile(store.tempPath(), 'crash leftover');
      // a folder left by a crash while onnxruntime's external data was written
      const folder = join(dirname(store.tempPath()), 'weightsmith-ort-leftover');
      await mkdir(folder);
      await writeFile(join(folder, 'weights.bin'), 'partial');
      const { sha256: kept } = await store.commit(await store.stage(chunksOf(Buffer.from('kept'), 4)));
      await expect(store.cleanTemporary()).resolves.toBe(3);
      expect(await tempFiles()).toEqual([]);
      expect(await store.exists(kept)).toBe(true);
      await expect(store.cleanTemporary()).resolves.toBe(0);
    });

    it('check() passes on a writable store and leaves no probe behind', async () => {
      await expect(store.check()).resolves.toBeUndefined();
      expect(await tempFiles()).toEqual([]);
    });
  });
}

blobStoreContract('FsBlobStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ws-blobs-'));
  const store = new FsBlobStore(join(root, 'blobs'));
  await store.init();
  return { store, tmpDir: join(root, 'blobs', 'tmp'), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsBlobStore specifics', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ws-blobs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('check() fails before init() created the folders', async () => {
    await expect(new FsBlobStore(join(root, 'blobs')).check()).rejects.toThrow();
  });

  it('list() and cleanTemporary() on a store that was never initialised yield nothing', async () => {
    const store = new FsBlobStore(join(root, 'missing'));
    expect(await all(store.list())).toEqual([]);
    await expect(store.cleanTemporary()).resolves.toBe(0);
  });
});
