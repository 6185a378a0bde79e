import { Global, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import type { BlobStore } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { FsBlobStore } from './fs-blob-store';

export const BLOB_STORE = Symbol('BLOB_STORE');

@Injectable()
class BlobStoreStartup implements OnModuleInit {
  private readonly logger = new Logger('BlobStore');
  constructor(@Inject(BLOB_STORE) private readonly store: FsBlobStore) {}

  async onModuleInit(): Promise<void> {
    await this.store.init();
    const removed = await this.store.cleanTemporary();
    if (removed > 0) this.logger.warn({ msg: 'removed temporary files left by an interrupted process', removed });
  }
}

/** Picks the blob store from configuration at run time (only `fs` exists today). */
@Global()
@Module({
  providers: [
    {
      provide: BLOB_STORE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): BlobStore => new FsBlobStore(join(config.dataDir, 'blobs')),
    },
    BlobStoreStartup,
  ],
  exports: [BLOB_STORE],
})
export class StorageModule {}
