import type { Readable, Writable } from 'node:stream';
import type { RandomAccessSource } from '../io/random-access';

/**
 * Content-addressed storage for weight bytes, keyed by sha256.
 *
 * Writes are two-phase so that the checkpoints module can validate (and convert) bytes before they
 * get their real, sha256-derived name: `stage` (or a staged writer) hashes the bytes while they are
 * written to a staging area, then `commit` publishes them atomically under their digest, or
 * `discard` drops them. A crash at any point leaves at most staged bytes, removed by
 * `cleanTemporary` at the next start: never a partial blob under a real name.
 *
 * Reads are streams (optionally a byte range) or random access, never file paths, so that a store
 * need not be a local filesystem. Only the checkpoints module holds a store; other features read and
 * write weights through it.
 */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
}

export interface ByteRange {
  /** Inclusive start and end offsets. */
  start: number;
  end: number;
}

export interface StageOptions {
  /** Abort with BlobTooLargeError past this many bytes. */
  maxBytes?: number;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`upload exceeds the limit of ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

export class BlobNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is not in the store`);
    this.name = 'BlobNotFoundError';
  }
}

/** A sink for staged bytes, hashed as they are written. */
export interface StagedWriter {
  /** Write the bytes here (backpressure as usual); do not end it: `finish` does. */
  readonly stream: Writable;
  /** Ends the stream, makes the bytes durable and returns them as staged. */
  finish(): Promise<StagedBlob>;
  /** Drops whatever was written (idempotent; also after `finish`, before `commit`). */
  abort(): Promise<void>;
}

export interface CommitResult {
  sha256: string;
  size: number;
  /** True when identical bytes were already stored (the staged copy was dropped). */
  existed: boolean;
}

export interface BlobStore {
  /** `fs` or `s3`: for logs and health only. */
  readonly kind: string;
  /** Streams `source` into the staging area, hashing as it goes. */
  stage(source: Readable | AsyncIterable<Uint8Array>, options?: StageOptions): Promise<StagedBlob>;
  /** A sink for bytes produced in this process (a conversion, a computed checkpoint). */
  createStagedWriter(options?: StageOptions): StagedWriter;
  /** Random access to staged bytes (to validate them before commit). */
  openStaged(staged: StagedBlob): Promise<RandomAccessSource>;
  /** Publishes staged bytes under their sha256. Idempotent: identical bytes share one blob. */
  commit(staged: StagedBlob): Promise<CommitResult>;
  /** Drops staged bytes (idempotent). */
  discard(staged: StagedBlob): Promise<void>;
  exists(sha256: string): Promise<boolean>;
  /** Size of a stored blob; rejects with BlobNotFoundError when it is not stored. */
  size(sha256: string): Promise<number>;
  /** The stored bytes (or one range of them) as a stream; rejects with BlobNotFoundError. */
  read(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Random access to a stored blob; rejects with BlobNotFoundError. */
  openRandomAccess(sha256: string): Promise<RandomAccessSource>;
  delete(sha256: string): Promise<void>;
  /** Every stored digest. */
  list(): AsyncIterable<string>;
  /** Removes staged bytes and partial uploads left by a crashed process; returns how many. */
  cleanTemporary(): Promise<number>;
  /** Cheap readiness probe. */
  check(): Promise<void>;
}

export function isSha256(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

export function assertSha256(value: string): void {
  if (!isSha256(value)) throw new Error(`not a sha256 digest: ${value}`);
}
