import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { all, blobStoreContract, chunksOf, expectSameBytes, sha256 } from './blob-store.contract';
import { FsBlobStore } from './fs-blob-store';

blobStoreContract('FsBlobStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ws-blobs-'));
  const store = new FsBlobStore(join(root, 'blobs'));
  await store.init();
  return { store, stagingDir: join(root, 'blobs', 'tmp'), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsBlobStore specifics', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ws-blobs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('publishes under sha256/ab/cd/<hash> by rename', async () => {
    const store = new FsBlobStore(join(root, 'blobs'));
    await store.init();
    const data = Buffer.from('layout');
    const { sha256: hash } = await store.commit(await store.stage(chunksOf(data, 2)));
    const path = join(root, 'blobs', 'sha256', hash.slice(0, 2), hash.slice(2, 4), hash);
    expect(hash).toBe(sha256(data));
    expectSameBytes(await readFile(path), data);
  });

  it('check() fails before init() created the folders', async () => {
    await expect(new FsBlobStore(join(root, 'blobs')).check()).rejects.toThrow();
    expect(existsSync(join(root, 'blobs'))).toBe(false);
  });

  it('list() and cleanTemporary() on a store that was never initialised yield nothing', async () => {
    const store = new FsBlobStore(join(root, 'missing'));
    expect(await all(store.list())).toEqual([]);
    await expect(store.cleanTemporary()).resolves.toBe(0);
  });
});
