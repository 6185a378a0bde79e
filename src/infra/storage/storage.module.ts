import { Global, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';
import { ScratchSpace } from '../scratch/scratch-space';

/** The blob store: inject it only in the checkpoints module (lint enforces it). */
export const BLOB_STORE = Symbol('BLOB_STORE');

type InitializableStore = BlobStore & { init(): Promise<void> };

/** The configured blob store: `<dataDir>/blobs` on the filesystem, or an S3 bucket. */
export function createBlobStore(config: AppConfig): InitializableStore {
  const store = config.blobStore;
  if (store.kind === 'fs') return new FsBlobStore(join(config.dataDir, 'blobs'));
  const client = new S3Client({
    region: store.region,
    forcePathStyle: store.forcePathStyle,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    ...(store.credentials ? { credentials: store.credentials } : {}),
  });
  return new S3BlobStore({
    client,
    bucket: store.bucket,
    prefix: store.prefix,
    stagingDir: join(config.dataDir, 'blobs', 'tmp'),
    createBucket: store.createBucket,
    abandonedUploadMs: store.abandonedUploadMs,
  });
}

@Injectable()
class StorageStartup implements OnModuleInit {
  private readonly logger = new Logger('BlobStore');
  constructor(
    @Inject(BLOB_STORE) private readonly store: InitializableStore,
    private readonly scratch: ScratchSpace,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.store.init();
    await this.scratch.init();
    const removed = (await this.store.cleanTemporary()) + (await this.scratch.sweep());
    if (removed > 0) this.logger.warn({ msg: 'removed temporary files left by an interrupted process', removed });
    this.logger.log({ msg: 'blob store ready', kind: this.store.kind });
  }
}

/** The blob store (for the checkpoints module) and the scratch space (temporary files for anyone). */
@Global()
@Module({
  providers: [
    { provide: BLOB_STORE, inject: [APP_CONFIG], useFactory: createBlobStore },
    { provide: ScratchSpace, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new ScratchSpace(join(config.dataDir, 'tmp')) },
    StorageStartup,
  ],
  exports: [BLOB_STORE, ScratchSpace],
})
export class StorageModule {}
