import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../infra/database/prisma.service';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';
import { CheckpointsService } from '../checkpoints/checkpoints.service';

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
    private readonly checkpoints: CheckpointsService,
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
      timed(() => this.checkpoints.checkStorage()),
    ]);
    const rt = this.runtime.status();
    const backend: ComponentCheck = rt.ready
      ? { status: 'up', backend: rt.backend, requested: rt.requested, skipped: rt.skipped, nativeKernels: rt.native }
      : { status: 'down', detail: 'tensor backend not initialised', requested: rt.requested };
    const checks = { database, blobStore, backend };
    return { ready: Object.values(checks).every((c) => c.status === 'up'), checks };
  }
}
