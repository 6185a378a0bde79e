import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Writable } from 'node:stream';
import type { RandomAccessSource } from '../../core/io/random-access';
import { ServiceError } from '../../core/service-error';
import { BlobNotFoundError, type BlobStore, type StagedBlob } from '../../core/storage/blob-store.port';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import { writeStaged } from './checkpoint-ingest';
import { CheckpointsRepository } from './checkpoints.repository';

/** Bytes written to the blob store's staging area (hashed), not yet published. */
export type StagedFile = StagedBlob;

/**
 * The blob store for features that keep files of their own besides checkpoints (datasets): the
 * checkpoints module still holds the store, and these are the only operations it lends. Such a
 * feature records the bytes in the shared `blobs` table in its own repository (see
 * infra/database/blob-rows), publishing them through `publish` inside that transaction.
 */
@Injectable()
export class SharedBlobs {
  private readonly logger = new Logger(SharedBlobs.name);

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly checkpoints: CheckpointsRepository,
  ) {}

  /** Stages the bytes that `write` streams into `sink` (one write); a failure leaves nothing staged. */
  async writeStaged<T>(write: (sink: Writable) => Promise<T>): Promise<{ staged: StagedFile; value: T }> {
    let value: T | undefined;
    const staged = await writeStaged(this.blobs.createStagedWriter(), async (w) => {
      value = await write(w.stream);
    });
    return { staged, value: value as T };
  }

  discard(staged: StagedFile): Promise<void> {
    return this.blobs.discard(staged);
  }

  /** Publishes staged bytes under their sha256 (call it while holding the blob's lock). */
  async publish(staged: StagedFile): Promise<void> {
    await this.blobs.commit(staged);
  }

  /** Random access to stored bytes (INTERNAL when the store lost them, as for checkpoints). */
  openRandomAccess(sha256: string, what: string): Promise<RandomAccessSource> {
    return this.blobs.openRandomAccess(sha256).catch((e: unknown) => {
      if (e instanceof BlobNotFoundError) throw new ServiceError('INTERNAL', `the bytes of ${what} (blob ${sha256}) are missing from the blob store`, { sha256 });
      throw e;
    });
  }

  /** Removes stored bytes (call it while holding the blob's lock, once no row records them). */
  delete(sha256: string): Promise<void> {
    return this.blobs.delete(sha256);
  }

  /** Removes published bytes whose record was not written (the start-up sweep would, later). */
  async removeUnrecorded(sha256: string): Promise<void> {
    try {
      if (await this.checkpoints.removeIfUnrecorded(sha256, (s) => this.blobs.delete(s))) this.logger.warn({ msg: 'removed a blob whose record failed', sha256 });
    } catch (e) {
      this.logger.error({ msg: 'could not remove a blob whose record failed; the next start removes it', sha256, error: (e as Error).message });
    }
  }
}
