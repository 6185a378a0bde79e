import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RandomAccessSource } from '../../core/io/random-access';
import { assertSha256, BlobNotFoundError, isSha256, type BlobStore, type ByteRange, type CommitResult, type StagedBlob } from '../../core/storage/blob-store.port';
import { LocallyStagedStore } from './local-staging';
import { S3RandomAccess } from './s3-random-access';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  /** Local folder for staged bytes (validated before they are uploaded). */
  stagingDir: string;
  /** Create the bucket at start when it does not exist. */
  createBucket: boolean;
  /** Multipart part size (S3 allows at most 10,000 parts: 8 MiB parts reach 78 GiB). */
  partSizeBytes?: number;
  /** Parts uploaded at once; memory held is about partSize × queueSize. */
  queueSize?: number;
  /** Multipart uploads started longer ago than this are a crashed process's: aborted at start. */
  abandonedUploadMs?: number;
}

const MiB = 1024 * 1024;

/** True for S3's "no such key / bucket" answers, whatever the operation called it. */
export function isS3NotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NotFound' || err?.name === 'NoSuchKey' || err?.name === 'NoSuchBucket' || err?.$metadata?.httpStatusCode === 404;
}

/**
 * Blob store on an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Swift's s3api): objects
 * `<prefix>sha256/ab/cd/<hash>` in one bucket. Bytes are staged in a local folder first (an upload
 * is validated and converted before anything reaches the bucket); `commit` streams the staged file
 * as a multipart upload, which S3 makes visible only once complete, so a crash mid-upload leaves
 * no object under a real key (the parts are aborted by the next start's `cleanTemporary`).
 * Downloads and random access are ranged GETs.
 */
export class S3BlobStore extends LocallyStagedStore implements BlobStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly options: S3BlobStoreOptions) {
    super(options.stagingDir);
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
  }

  async init(): Promise<void> {
    await this.staging.init();
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (!isS3NotFound(e) || !this.options.createBucket) {
        throw new Error(`S3 bucket ${this.bucket} is not reachable: ${(e as Error).name} ${(e as Error).message}${isS3NotFound(e) ? ' (set WEIGHTSMITH_S3_CREATE_BUCKET=true to create it)' : ''}`);
      }
      // Replicas starting together race to create it: the loser is told the bucket exists.
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((err: unknown) => {
        const name = (err as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      });
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    }
  }

  key(sha256: string): string {
    assertSha256(sha256);
    return `${this.prefix}sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  async commit(staged: StagedBlob): Promise<CommitResult> {
    const path = this.staging.pathOf(staged);
    const Key = this.key(staged.sha256);
    const existing = await this.headSize(staged.sha256);
    if (existing === staged.size) {
      await rm(path, { force: true });
      return { sha256: staged.sha256, size: staged.size, existed: true };
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: createReadStream(path), ContentType: 'application/octet-stream', Metadata: { sha256: staged.sha256 } },
      partSize: this.options.partSizeBytes ?? 8 * MiB,
      queueSize: this.options.queueSize ?? 4,
      leavePartsOnError: false,
    });
    await upload.done();
    await rm(path, { force: true });
    return { sha256: staged.sha256, size: staged.size, existed: false };
  }

  async exists(sha256: string): Promise<boolean> {
    return (await this.headSize(sha256)) !== null;
  }

  async size(sha256: string): Promise<number> {
    const size = await this.headSize(sha256);
    if (size === null) throw new BlobNotFoundError(sha256);
    return size;
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(sha256), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      if (!(res.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream');
      return res.Body;
    } catch (e) {
      throw isS3NotFound(e) ? new BlobNotFoundError(sha256) : e;
    }
  }

  async openRandomAccess(sha256: string): Promise<RandomAccessSource> {
    const size = await this.size(sha256);
    return new S3RandomAccess(this.client, this.bucket, this.key(sha256), size);
  }

  async delete(sha256: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
  }

  async *list(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}sha256/`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const name = object.Key?.split('/').pop() ?? '';
        if (isSha256(name) && object.Key === this.key(name)) yield name;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Removes local staged files, and aborts multipart uploads under the prefix that started longer
   * ago than `abandonedUploadMs` (default one hour): another replica's upload in progress is left alone.
   */
  async cleanTemporary(): Promise<number> {
    let removed = await this.staging.sweep();
    const before = Date.now() - (this.options.abandonedUploadMs ?? 60 * 60_000);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated && u.Initiated.getTime() > before)) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
        removed++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return removed;
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    await this.staging.check();
  }

  private async headSize(sha256: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return head.ContentLength ?? 0;
    } catch (e) {
      if (isS3NotFound(e)) return null;
      throw e;
    }
  }
}
