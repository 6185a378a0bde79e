import { Inject, Injectable } from '@nestjs/common';
import type { BlobStore } from '../../core/storage/blob-store.port';
import { PrismaService } from '../../infra/database/prisma.service';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';

export interface ComponentCheck {
  status: 'up' | 'down';
  detail?: string;
  [extra: string]: unknown;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly runtime: TensorRuntime,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  async readiness(): Promise<{ ready: boolean; checks: Record<string, ComponentCheck> }> {
    const timed = async (fn: () => Promise<Record<string, unknown> | void>): Promise<ComponentCheck> => {
      const t0 = Date.now();
      try {
        const extra = (await Promise.race([fn(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timed out after 2 s')), 2000).unref())])) ?? {};
        return { status: 'up', latencyMs: Date.now() - t0, ...extra };
      } catch (e) {
        return { status: 'down', detail: (e as Error).message, latencyMs: Date.now() - t0 };
      }
    };
    const [database, blobStore] = await Promise.all([
      timed(async () => {
        await this.prisma.ping();
        return { kind: this.prisma.kind };
      }),
      timed(() => this.blobs.check()),
    ]);
    const rt = this.runtime.status();
    const backend: ComponentCheck = rt.ready
      ? { status: 'up', backend: rt.backend, requested: rt.requested, skipped: rt.skipped }
      : { status: 'down', detail: 'tensor backend not initialised', requested: rt.requested };
    const checks = { database, blobStore, backend };
    return { ready: Object.values(checks).every((c) => c.status === 'up'), checks };
  }
}
