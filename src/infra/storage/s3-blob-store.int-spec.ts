import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../../test/utils/swift-s3';
import { all, blobStoreContract, chunksOf, collect, expectSameBytes, sha256 } from './blob-store.contract';
import { S3BlobStore } from './s3-blob-store';

/** The S3 store against a real S3-compatible server (Swift's s3api, started by the tier's global setup). */
function endpoint(): string {
  const url = process.env.TEST_S3_ENDPOINT;
  if (!url) throw new Error('TEST_S3_ENDPOINT is not set: run this spec through the integration tier (npm run test:integration)');
  return url;
}

let client: S3Client;
beforeAll(() => {
  client = s3Client(endpoint());
});

async function makeStore(options: { prefix?: string; bucket?: string; partSizeBytes?: number; abandonedUploadMs?: number } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'ws-s3-'));
  const bucket = options.bucket ?? `ws-contract-${randomBytes(4).toString('hex')}`;
  const store = new S3BlobStore({ client, bucket, prefix: options.prefix ?? `p${randomBytes(3).toString('hex')}/`, stagingDir: join(root, 'staging'), createBucket: true, ...options });
  await store.init();
  return { store, root, bucket, stagingDir: join(root, 'staging') };
}

blobStoreContract('S3BlobStore on Swift s3api', async () => {
  const { store, root, stagingDir } = await makeStore();
  return { store, stagingDir, cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('S3BlobStore specifics', () => {
  it('stores objects under <prefix>sha256/ab/cd/<hash>, with a multipart upload past one part', async () => {
    const { store, root, bucket } = await makeStore({ prefix: 'team-a/weights/', partSizeBytes: 5 * 1024 * 1024 });
    try {
      const data = randomBytes(12 * 1024 * 1024 + 17);
      const { sha256: hash } = await store.commit(await store.stage(chunksOf(data, 1 << 20)));
      const key = `team-a/weights/sha256/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentLength).toBe(data.length);
      // A multipart object's ETag carries its part count.
      expect(head.ETag).toMatch(/-3"?$/);
      expect(hash).toBe(sha256(data));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=5242870-5242890' }));
      expectSameBytes(await got.Body!.transformToByteArray(), data.subarray(5242870, 5242891));
      expectSameBytes(await collect(await store.read(hash)), data);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('keeps to its prefix: objects of another prefix in the bucket are neither listed nor swept', async () => {
    const a = await makeStore({ prefix: 'a/' });
    const b = await makeStore({ prefix: 'b/', bucket: a.bucket });
    try {
      const inA = (await a.store.commit(await a.store.stage(chunksOf(Buffer.from('in a'), 2)))).sha256;
      const inB = (await b.store.commit(await b.store.stage(chunksOf(Buffer.from('in b'), 2)))).sha256;
      expect(await all(a.store.list())).toEqual([inA]);
      expect(await all(b.store.list())).toEqual([inB]);
      await a.store.cleanTemporary();
      expect(await b.store.exists(inB)).toBe(true);
    } finally {
      await rm(a.root, { recursive: true, force: true });
      await rm(b.root, { recursive: true, force: true });
    }
  });

  it('cleanTemporary aborts multipart uploads a crashed process left, and leaves recent ones', async () => {
    const { store, root, bucket } = await makeStore({ prefix: 'crash/', abandonedUploadMs: 60 * 60_000 });
    const stale = await makeStore({ prefix: 'crash/', bucket, abandonedUploadMs: 0 });
    try {
      const key = `crash/sha256/aa/bb/${'ab'.repeat(32)}`;
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      const uploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'crash/' }))).Uploads ?? [];
      expect(await uploads()).toHaveLength(1);
      await expect(store.cleanTemporary()).resolves.toBe(0); // started just now: another replica's, perhaps
      expect(await uploads()).toHaveLength(1);
      // Swift reports the start rounded up to the next second: let it be in the past.
      await new Promise((r) => setTimeout(r, 1500));
      await expect(stale.store.cleanTemporary()).resolves.toBe(1);
      expect(await uploads()).toHaveLength(0);
      const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'crash/' }));
      expect(objects.Contents ?? []).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(stale.root, { recursive: true, force: true });
    }
  });

  it('creates a missing bucket once when several stores start together', async () => {
    const bucket = `ws-race-${randomBytes(4).toString('hex')}`;
    const stores = await Promise.all([1, 2, 3].map(() => makeStore({ bucket })));
    try {
      for (const { store } of stores) await expect(store.check()).resolves.toBeUndefined();
    } finally {
      for (const { root } of stores) await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses to start on a missing bucket unless told to create it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ws-s3-'));
    try {
      const store = new S3BlobStore({ client, bucket: `ws-missing-${randomBytes(4).toString('hex')}`, prefix: '', stagingDir: join(root, 's'), createBucket: false });
      await expect(store.init()).rejects.toThrow(/not reachable.*WEIGHTSMITH_S3_CREATE_BUCKET=true/s);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
