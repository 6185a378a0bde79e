import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { requestContext } from '../../infra/logging/request-context';
import { Metrics } from '../../infra/metrics/metrics';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import { CoreError } from '../../core/errors';
import { ServiceError } from '../../core/service-error';
import { JobCancelledError, JobPayloadError, type Job, type JobContext, type JobDefinition, type JobQueue, type JobStatus } from './job.types';
import { JobsRepository } from './jobs.repository';

type AnyDefinition = JobDefinition<unknown, unknown>;

/**
 * The job queue and its in-process runner. Compute modules define their job types at init (a typed
 * registry: payload validator, work, result); jobs are claimed with FOR UPDATE SKIP LOCKED, so that
 * with several replicas each runs once, heart-beat while they run, and jobs of a dead process are
 * re-queued (or failed) by whichever runner notices first, including the next start.
 */
@Injectable()
export class JobsService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobsService.name);
  private readonly definitions = new Map<string, AnyDefinition>();
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Jobs this process is executing (at most `jobs.concurrency`). */
  private readonly executing = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  /** Jobs this process runs, by id: cancelling one here stops it at once (other replicas' jobs at their next heartbeat). */
  private readonly active = new Map<string, AbortController>();
  private lastRecovery = 0;

  constructor(
    private readonly repository: JobsRepository,
    private readonly metrics: Metrics,
    private readonly references: ReferenceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // A queued or running job keeps the checkpoint it reads.
    this.references.register('checkpoint', 'job', (id, limit) => this.repository.activeForCheckpoint(id, limit));
  }

  /** Adds a job type; returns the queue that enqueues it (payloads checked by its validator). */
  define<P, R>(definition: JobDefinition<P, R>): JobQueue<P, R> {
    if (this.definitions.has(definition.type)) throw new Error(`job type ${definition.type} defined twice`);
    this.definitions.set(definition.type, definition as AnyDefinition);
    return {
      type: definition.type,
      enqueue: async (payload: P) => {
        const checked = definition.parsePayload(payload);
        const job = await this.repository.create({
          type: definition.type,
          payload: checked as Record<string, unknown>,
          checkpointId: definition.checkpointOf?.(checked) ?? undefined,
          maxAttempts: definition.maxAttempts,
        });
        this.schedule(0);
        return job as Job<P, R>;
      },
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.recover(true);
    if (this.config.jobs.enabled) this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await Promise.all([...this.executing]);
  }

  async get(id: string): Promise<Job> {
    const job = await this.repository.find(id);
    if (!job) throw new ServiceError('JOB_NOT_FOUND', `job ${id} does not exist`);
    return job;
  }

  list(opts: { status?: JobStatus; type?: string; limit: number; cursor?: { createdAt: Date; id: string } }): Promise<Job[]> {
    return this.repository.list(opts);
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    if (job.status !== 'queued' && job.status !== 'running') {
      throw new ServiceError('JOB_NOT_CANCELLABLE', `job ${id} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}`);
    }
    const flagged = (await this.repository.requestCancel(id)) ?? job;
    this.active.get(id)?.abort();
    return flagged;
  }

  countByStatus(): Promise<Record<string, number>> {
    return this.repository.countByStatus();
  }

  /** Re-queues or fails jobs whose worker stopped heart-beating. */
  async recover(atStart = false): Promise<void> {
    this.lastRecovery = Date.now();
    const staleBefore = new Date(Date.now() - this.config.jobs.staleAfterMs);
    const { requeued, failed } = await this.repository.recoverStale(staleBefore);
    if (requeued.length || failed.length) {
      this.logger.warn({ msg: 'recovered jobs of a stopped worker', atStart, requeued, failed });
    }
  }

  private schedule(delayMs: number): void {
    if (!this.config.jobs.enabled || this.shutdown.signal.aborted) return;
    if (this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.drain()
        .catch((e: unknown) => this.logger.error({ msg: 'job runner error', error: (e as Error).message }))
        .finally(() => {
          this.running = null;
          this.schedule(this.config.jobs.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Claims jobs while fewer than `jobs.concurrency` run here, and starts each without waiting for
   * it: a long job (a training) does not hold up the queue behind it. A finished job schedules the
   * next claim at once.
   */
  private async drain(): Promise<void> {
    if (Date.now() - this.lastRecovery > this.config.jobs.staleAfterMs / 2) await this.recover();
    while (!this.shutdown.signal.aborted && this.executing.size < this.config.jobs.concurrency) {
      const job = await this.repository.claim(this.workerId, [...this.definitions.keys()]);
      if (!job) return;
      const run: Promise<void> = requestContext
        .run({ requestId: `job:${job.id}` }, () => this.execute(job))
        .catch((e: unknown) => this.logger.error({ msg: 'job runner error', jobId: job.id, error: (e as Error).message }))
        .finally(() => {
          this.executing.delete(run);
          this.schedule(0);
        });
      this.executing.add(run);
    }
  }

  private async execute(job: Job): Promise<void> {
    const definition = this.definitions.get(job.type)!;
    const abort = new AbortController();
    this.active.set(job.id, abort);
    const onShutdown = () => abort.abort();
    this.shutdown.signal.addEventListener('abort', onShutdown);
    let lastBeat = Date.now();
    const beat = async (progress?: number): Promise<void> => {
      const { cancelRequested, owned } = await this.repository.heartbeat(job.id, this.workerId, progress);
      lastBeat = Date.now();
      if (cancelRequested || !owned) abort.abort();
    };
    const interval = setInterval(() => void beat().catch(() => undefined), this.config.jobs.heartbeatMs);
    interval.unref();
    const ctx: JobContext = {
      jobId: job.id,
      attempt: job.attempts,
      signal: abort.signal,
      progress: async (fraction) => {
        if (abort.signal.aborted) throw new JobCancelledError();
        if (Date.now() - lastBeat > 250 || fraction >= 1) await beat(Math.max(0, Math.min(1, fraction)));
        if (abort.signal.aborted) throw new JobCancelledError();
      },
    };
    this.logger.log({ msg: 'job started', jobId: job.id, type: job.type, attempt: job.attempts });
    try {
      // Work that returned is done (a cancellation it could no longer honour came too late):
      // recording it as cancelled would disown what it stored.
      const result = await definition.run(definition.parsePayload(job.payload), ctx);
      await this.repository.finish(job.id, this.workerId, { status: 'succeeded', result: result ?? null });
      this.metrics.jobsFinished.inc({ type: job.type, status: 'succeeded' });
      this.logger.log({ msg: 'job succeeded', jobId: job.id, type: job.type });
    } catch (e) {
      if (this.shutdown.signal.aborted) {
        // Server stopping: hand the job back to the queue for the next runner.
        await this.repository.finish(job.id, this.workerId, { status: 'queued' });
        return;
      }
      const cancelled = e instanceof JobCancelledError || abort.signal.aborted;
      const code = e instanceof CoreError || e instanceof ServiceError ? e.code : e instanceof JobPayloadError ? 'JOB_PAYLOAD_INVALID' : 'JOB_FAILED';
      const error = cancelled ? { code: 'JOB_CANCELLED', message: 'job was cancelled' } : { code, message: (e as Error).message };
      const status = cancelled ? 'cancelled' : 'failed';
      await this.repository.finish(job.id, this.workerId, { status, error });
      this.metrics.jobsFinished.inc({ type: job.type, status });
      this.logger.warn({ msg: `job ${status}`, jobId: job.id, type: job.type, error: error.message });
    } finally {
      this.active.delete(job.id);
      clearInterval(interval);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }
}
