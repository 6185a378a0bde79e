import { Injectable } from '@nestjs/common';
import { Prisma, type Job as JobRow } from '@prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Job, JobStatus } from './job.types';
import { referencesFrom } from '../../infra/references/reference-registry';

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type,
    status: row.status as JobStatus,
    payload: (row.payload ?? {}) as Record<string, unknown>,
    result: row.result ?? null,
    error: (row.error ?? null) as Job['error'],
    progress: row.progress,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    cancelRequested: row.cancelRequested,
    checkpointId: row.checkpointId,
    workerId: row.workerId,
    heartbeatAt: row.heartbeatAt,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

/** Raw rows from claim queries use column names; map them to the Prisma shape first. */
interface RawJobRow {
  id: string;
}

@Injectable()
export class JobsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: { type: string; payload: Record<string, unknown>; checkpointId?: string; maxAttempts?: number }): Promise<Job> {
    return toJob(
      await this.prisma.client.job.create({
        data: {
          type: input.type,
          payload: input.payload as Prisma.InputJsonValue,
          checkpointId: input.checkpointId ?? null,
          maxAttempts: input.maxAttempts ?? 3,
        },
      }),
    );
  }

  async find(id: string): Promise<Job | null> {
    const row = await this.prisma.client.job.findUnique({ where: { id } });
    return row ? toJob(row) : null;
  }

  async list(opts: { status?: JobStatus; type?: string; limit: number; cursor?: { createdAt: Date; id: string } }): Promise<Job[]> {
    const rows = await this.prisma.client.job.findMany({
      where: {
        status: opts.status,
        type: opts.type,
        ...(opts.cursor
          ? { OR: [{ createdAt: { lt: opts.cursor.createdAt } }, { createdAt: opts.cursor.createdAt, id: { lt: opts.cursor.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: opts.limit,
    });
    return rows.map(toJob);
  }

  /** Claims the oldest queued job of the given types; concurrent workers never get the same one. */
  async claim(workerId: string, types: string[]): Promise<Job | null> {
    if (types.length === 0) return null;
    const rows = await this.prisma.client.$queryRaw<RawJobRow[]>`
      UPDATE jobs SET status = 'running', worker_id = ${workerId}, attempts = attempts + 1,
             started_at = now(), heartbeat_at = now(), progress = 0
       WHERE id = (SELECT id FROM jobs
                    WHERE status = 'queued' AND type = ANY(${types}::text[]) AND cancel_requested = false
                    ORDER BY created_at, id
                    FOR UPDATE SKIP LOCKED
                    LIMIT 1)
      RETURNING id`;
    if (rows.length === 0) return null;
    return this.find(rows[0].id);
  }

  /** Records a heartbeat and progress; returns whether cancellation was requested. */
  async heartbeat(id: string, workerId: string, progress?: number): Promise<{ cancelRequested: boolean; owned: boolean }> {
    const res = await this.prisma.client.job.updateMany({
      where: { id, workerId, status: 'running' },
      data: { heartbeatAt: new Date(), ...(progress !== undefined ? { progress } : {}) },
    });
    const row = await this.prisma.client.job.findUnique({ where: { id }, select: { cancelRequested: true } });
    return { cancelRequested: row?.cancelRequested ?? true, owned: res.count === 1 };
  }

  async finish(id: string, workerId: string, outcome: { status: 'succeeded' | 'failed' | 'cancelled' | 'queued'; result?: unknown; error?: { code: string; message: string } }): Promise<boolean> {
    const res = await this.prisma.client.job.updateMany({
      where: { id, workerId, status: 'running' },
      data: {
        status: outcome.status,
        result: outcome.result === undefined ? undefined : (outcome.result as Prisma.InputJsonValue),
        error: outcome.error === undefined ? undefined : (outcome.error as Prisma.InputJsonValue),
        progress: outcome.status === 'succeeded' ? 1 : undefined,
        finishedAt: outcome.status === 'queued' ? null : new Date(),
        workerId: outcome.status === 'queued' ? null : undefined,
      },
    });
    return res.count === 1;
  }

  /** Cancels a queued job at once, or flags a running one; returns the job after the change. */
  async requestCancel(id: string): Promise<Job | null> {
    await this.prisma.client.job.updateMany({ where: { id, status: 'queued' }, data: { status: 'cancelled', cancelRequested: true, finishedAt: new Date() } });
    await this.prisma.client.job.updateMany({ where: { id, status: 'running' }, data: { cancelRequested: true } });
    return this.find(id);
  }

  /**
   * Jobs marked running whose worker stopped heart-beating (the process died): re-queued while
   * attempts remain, failed otherwise. Returns the affected ids.
   */
  async recoverStale(staleBefore: Date): Promise<{ requeued: string[]; failed: string[] }> {
    const requeued = await this.prisma.client.$queryRaw<RawJobRow[]>`
      UPDATE jobs SET status = 'queued', worker_id = NULL, heartbeat_at = NULL, progress = 0
       WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ${staleBefore})
         AND attempts < max_attempts AND cancel_requested = false
      RETURNING id`;
    const failed = await this.prisma.client.$queryRaw<RawJobRow[]>`
      UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled'::"JobStatus" ELSE 'failed'::"JobStatus" END,
             finished_at = now(),
             error = jsonb_build_object('code', 'WORKER_LOST', 'message', 'the process running this job stopped; no attempts left')
       WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ${staleBefore})
      RETURNING id`;
    return { requeued: requeued.map((r) => r.id), failed: failed.map((r) => r.id) };
  }

  /** Queued or running jobs that read the checkpoint (the first `limit`, and how many). */
  async activeForCheckpoint(checkpointId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const where = { checkpointId, status: { in: ['queued', 'running'] as JobStatus[] } };
    return referencesFrom(
      this.prisma.client.job.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit }),
      this.prisma.client.job.count({ where }),
      (r) => r.id,
    );
  }

  async countByStatus(): Promise<Record<string, number>> {
    const groups = await this.prisma.client.job.groupBy({ by: ['status'], _count: { _all: true } });
    return Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
  }
}
