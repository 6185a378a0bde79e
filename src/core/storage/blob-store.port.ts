import type { Readable } from 'node:stream';

/**
 * Content-addressed storage for weight bytes. Writes are two-phase so that callers can validate
 * (and convert) a staged file before it gets its real, sha256-derived name: `stage` streams bytes
 * to a temporary file while hashing them, then `commit` publishes it atomically or `discard`
 * drops it. A crash at any point leaves at most a temporary file, removed at the next start.
 */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** Local path of the staged bytes, readable until commit/discard. */
  readonly path: string;
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

export interface BlobStore {
  /** Streams `source` into a temporary file, hashing as it goes. */
  stage(source: Readable | AsyncIterable<Uint8Array>, options?: StageOptions): Promise<StagedBlob>;
  /** Path for a new temporary file that a converter may write, to be staged with `adopt`. */
  tempPath(suffix?: string): string;
  /**
   * Returns an already written temporary file (from `tempPath`) as staged. `digest` is the sha256
   * and size the writer computed while writing it (e.g. writeSafetensors' result); without it the
   * file is read again to hash it.
   */
  adopt(path: string, digest?: { sha256: string; size: number }): Promise<StagedBlob>;
  /** Publishes staged bytes under their sha256. Idempotent: identical bytes share one blob. */
  commit(staged: StagedBlob): Promise<{ sha256: string; size: number; existed: boolean }>;
  discard(staged: StagedBlob | string): Promise<void>;
  exists(sha256: string): Promise<boolean>;
  size(sha256: string): Promise<number>;
  read(sha256: string, range?: ByteRange): Readable;
  /** Local path of a committed blob (the fs store); random-access readers open it. */
  localPath(sha256: string): string;
  delete(sha256: string): Promise<void>;
  list(): AsyncIterable<string>;
  /** Removes temporary files left by a crashed process; returns how many. */
  cleanTemporary(): Promise<number>;
  /** Cheap readiness probe. */
  check(): Promise<void>;
}

export function isSha256(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
