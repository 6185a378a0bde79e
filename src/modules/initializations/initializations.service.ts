import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Cursor } from '../../http/pagination';
import type { Architecture } from '../architectures/architecture.types';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { GhnModel } from '../ghns/ghn.types';
import { GhnsService } from '../ghns/ghns.service';
import { JobCancelledError, uuidPayload, type Job, type JobContext, type JobQueue } from '../jobs/job.types';
import { JobsService } from '../jobs/jobs.service';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import { ServiceError } from '../../core/service-error';
import { initializationCacheKey, normalizeOptions, type CreateInitializationInput } from './initialization-request';
import { InitializationRunner } from './initialization-runner';
import {
  INITIALIZATION_JOB,
  type Initialization,
  type InitializationFilter,
  type InitializationStatus,
  type InitializationView,
} from './initialization.types';
import { InitializationsRepository } from './initializations.repository';

/** How long a request waits for an identical computation running in another request or process. */
const WAIT_FOR_PEER_MS = 60_000;
const POLL_MS = 200;
/** A row still without checkpoint or job after this long belongs to a process that died. */
const STALE_INLINE_MS = 15 * 60_000;

/** How a create request was answered: an earlier result reused, computed now, or left to a job. */
export type InitializationOutcome = 'reused' | 'computed' | 'queued';

export interface CreatedInitialization {
  view: InitializationView;
  outcome: InitializationOutcome;
}

export interface InitializationJobPayload {
  initializationId: string;
}

export interface InitializationJobResult {
  initializationId: string;
  checkpointId: string;
}

/**
 * Initializations on demand, computed once per (architecture content hash, GHN weights sha256,
 * method, options): an identical request gets the stored checkpoint without recomputation. Work
 * estimated within the inline limit is computed during the request; longer work (or
 * `Prefer: respond-async`) by a job, which a cancellation stops with nothing stored.
 */
@Injectable()
export class InitializationsService implements OnModuleInit {
  private readonly logger = new Logger(InitializationsService.name);
  /** Inline computations of this process by cache key, so identical concurrent requests share one. */
  private readonly inflight = new Map<string, Promise<Initialization>>();
  private queue!: JobQueue<InitializationJobPayload, InitializationJobResult>;

  constructor(
    private readonly repository: InitializationsRepository,
    private readonly runner: InitializationRunner,
    private readonly architectures: ArchitecturesService,
    private readonly ghns: GhnsService,
    private readonly jobs: JobsService,
    private readonly references: ReferenceRegistry,
  ) {}

  onModuleInit(): void {
    this.queue = this.jobs.define<InitializationJobPayload, InitializationJobResult>({
      type: INITIALIZATION_JOB,
      parsePayload: uuidPayload(INITIALIZATION_JOB, ['initializationId']),
      run: (payload, ctx) => this.runJob(payload, ctx),
    });
    // An initialization keeps the GHN that predicted it.
    this.references.register('ghn', 'initialization', (id, limit) => this.repository.usingGhn(id, limit));
  }

  async create(input: CreateInitializationInput, opts: { preferAsync?: boolean } = {}): Promise<CreatedInitialization> {
    const options = normalizeOptions(input);
    const architecture = await this.architectures.get(input.architectureId);
    let ghn: GhnModel | null = null;
    let ghnWeightsSha256: string | null = null;
    if (input.method === 'ghn') {
      const resolved = await this.ghns.resolve(input.ghnId);
      ghn = resolved.ghn;
      ghnWeightsSha256 = resolved.checkpoint.sha256;
      // The GHN graph its builder makes of this architecture (cached): an architecture the builder
      // cannot represent (ppuda and a ViT) is refused now, as GET .../ghn-graph refuses it, not by a failed job.
      await this.architectures.ghnGraph(architecture.id, ghn.config.graph_builder);
    } else if (!architecture.executable) {
      throw new ServiceError(
        'ARCHITECTURE_NOT_EXECUTABLE',
        `architecture ${architecture.id} is known only by its GHN graph: method ${input.method} needs its state_dict entries (only method ghn works)`,
        { method: input.method },
      );
    }
    const cacheKey = initializationCacheKey({ architectureHash: architecture.contentHash, ghnWeightsSha256, ghnConfig: ghn?.config ?? null, method: input.method, options });
    const draft = { cacheKey, architectureId: architecture.id, method: input.method, ghnId: ghn?.id ?? null, options, jobId: null };
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.repository.findByCacheKey(cacheKey);
      if (existing) {
        const reused = await this.reuse(existing);
        if (reused) return reused;
        continue; // a failed earlier attempt was cleared: claim the key anew
      }
      const jobReason = opts.preferAsync ? 'Prefer: respond-async' : await this.runner.jobReason(architecture, input.method, ghn);
      const claimed = await this.repository.claim(draft);
      if (!claimed) continue; // lost the race for the key: reuse the winner's row
      return jobReason ? this.startJob(claimed, jobReason) : this.computeInline(claimed, architecture);
    }
    throw new ServiceError('SERVICE_UNAVAILABLE', 'the initialization is contended by concurrent requests; retry');
  }

  async get(id: string): Promise<InitializationView> {
    const init = await this.repository.find(id);
    if (!init) throw new ServiceError('INITIALIZATION_NOT_FOUND', `initialization ${id} does not exist`);
    return this.view(init, false);
  }

  list(filter: InitializationFilter, limit: number, cursor?: Cursor): Promise<Initialization[]> {
    return this.repository.list(filter, limit, cursor);
  }

  /** Rows with their status (from their job while one computes them). */
  views(rows: Initialization[]): Promise<InitializationView[]> {
    return Promise.all(rows.map((r) => this.view(r, false)));
  }

  /** The answer for a key someone already claimed; null when that attempt failed and was cleared. */
  private async reuse(existing: Initialization): Promise<CreatedInitialization | null> {
    if (existing.checkpointId) return { view: await this.view(existing, true), outcome: 'reused' };
    if (existing.jobId) {
      const job = await this.jobs.get(existing.jobId).catch(() => null);
      if (job?.status === 'succeeded') {
        const fresh = await this.repository.find(existing.id);
        if (fresh?.checkpointId) return { view: await this.view(fresh, true), outcome: 'reused' };
      }
      if (!job || job.status === 'failed' || job.status === 'cancelled' || job.status === 'succeeded') {
        await this.repository.releasePending(existing.id);
        return null;
      }
      return { view: this.viewWithJob(existing, job, false), outcome: 'queued' };
    }
    // Computed inline by another request: wait for it (in this process, on its promise).
    const mine = this.inflight.get(existing.cacheKey);
    if (mine) {
      const done = await mine.catch(() => null);
      return done ? { view: await this.view(done, true), outcome: 'reused' } : null;
    }
    const deadline = Date.now() + WAIT_FOR_PEER_MS;
    let current: Initialization | null = existing;
    while (current && !current.checkpointId && !current.jobId && Date.now() < deadline) {
      if (Date.now() - current.createdAt.getTime() > STALE_INLINE_MS) {
        await this.repository.releasePending(current.id);
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      current = await this.repository.findByCacheKey(existing.cacheKey);
    }
    if (!current) return null;
    if (current.checkpointId) return { view: await this.view(current, true), outcome: 'reused' };
    if (current.jobId) return this.reuse(current);
    return { view: { initialization: current, status: 'running', cached: false, error: null }, outcome: 'queued' };
  }

  private async computeInline(claimed: Initialization, architecture: Architecture): Promise<CreatedInitialization> {
    const work = (async () => {
      try {
        const checkpoint = await this.runner.compute(claimed, false);
        if (!(await this.repository.complete(claimed.id, checkpoint.id))) {
          await this.runner.discardCheckpoint(checkpoint.id);
          throw new ServiceError('INITIALIZATION_NOT_FOUND', `initialization ${claimed.id} was removed while it was computed`);
        }
        return { ...claimed, checkpointId: checkpoint.id };
      } catch (e) {
        await this.repository.releasePending(claimed.id).catch(() => undefined);
        throw e;
      }
    })();
    this.inflight.set(claimed.cacheKey, work);
    try {
      const done = await work;
      this.logger.log({ msg: 'initialization stored', id: done.id, architecture: architecture.name, method: done.method, checkpointId: done.checkpointId });
      return { view: { initialization: done, status: 'succeeded', cached: false, error: null }, outcome: 'computed' };
    } finally {
      this.inflight.delete(claimed.cacheKey);
    }
  }

  private async startJob(claimed: Initialization, reason: string): Promise<CreatedInitialization> {
    let job: Job;
    try {
      job = await this.queue.enqueue({ initializationId: claimed.id });
      await this.repository.setJob(claimed.id, job.id);
    } catch (e) {
      await this.repository.releasePending(claimed.id).catch(() => undefined);
      throw e;
    }
    this.logger.log({ msg: 'initialization queued', id: claimed.id, jobId: job.id, reason });
    return { view: this.viewWithJob({ ...claimed, jobId: job.id }, job, false), outcome: 'queued' };
  }

  private async runJob(payload: InitializationJobPayload, ctx: JobContext): Promise<InitializationJobResult> {
    const id = payload.initializationId;
    const init = await this.repository.find(id);
    if (!init) throw new ServiceError('INITIALIZATION_NOT_FOUND', `initialization ${id} does not exist`);
    if (init.checkpointId) return { initializationId: id, checkpointId: init.checkpointId };
    await ctx.progress(0.05);
    const checkpoint = await this.runner.compute(init, true, ctx.signal);
    if (ctx.signal.aborted) {
      // Cancelled after the checkpoint was recorded: a cancelled job leaves nothing behind.
      await this.runner.discardCheckpoint(checkpoint.id);
      throw new JobCancelledError();
    }
    if (!(await this.repository.complete(id, checkpoint.id))) {
      const again = await this.repository.find(id);
      if (again?.checkpointId) {
        // Another attempt finished first: keep its checkpoint.
        if (again.checkpointId !== checkpoint.id) await this.runner.discardCheckpoint(checkpoint.id);
        return { initializationId: id, checkpointId: again.checkpointId };
      }
      await this.runner.discardCheckpoint(checkpoint.id);
      throw new ServiceError('INITIALIZATION_NOT_FOUND', `initialization ${id} was removed while it was computed`);
    }
    return { initializationId: id, checkpointId: checkpoint.id };
  }

  private async view(init: Initialization, cached: boolean): Promise<InitializationView> {
    if (init.checkpointId) return { initialization: init, status: 'succeeded', cached, error: null };
    if (!init.jobId) return { initialization: init, status: 'running', cached, error: null };
    const job = await this.jobs.get(init.jobId).catch(() => null);
    if (!job) return { initialization: init, status: 'failed', cached, error: { code: 'JOB_NOT_FOUND', message: `job ${init.jobId} no longer exists` } };
    return this.viewWithJob(init, job, cached);
  }

  private viewWithJob(init: Initialization, job: Job, cached: boolean): InitializationView {
    const status: InitializationStatus = init.checkpointId ? 'succeeded' : job.status === 'succeeded' ? 'running' : job.status;
    return { initialization: init, status, cached, error: job.error };
  }
}
