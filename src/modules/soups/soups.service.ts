import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { planSoup, RECIPE_DTYPES, type SoupSource } from '../../core/averaging';
import { isFloatDtype } from '../../core/averaging/numeric';
import { CoreError } from '../../core/errors';
import { ServiceError } from '../../core/service-error';
import type { Cursor } from '../../http/pagination';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import type { DatasetRecord } from '../datasets/dataset.types';
import { DatasetsService } from '../datasets/datasets.service';
import { DEFAULT_EVALUATION_OPTIONS, type EvaluationOptions, type EvaluationSplit } from '../evaluations/evaluation.types';
import { EvaluationsService } from '../evaluations/evaluations.service';
import { JobCancelledError, uuidPayload, type Job, type JobContext, type JobQueue } from '../jobs/job.types';
import { JobsService } from '../jobs/jobs.service';
import { resolveSoupRequest, type ResolvedSoupRequest, type SoupRequestBody } from './soup-request';
import { SoupRunner } from './soup-runner';
import { SOUP_JOB, type AppliedBatchNormPolicy, type BatchNormPolicy, type Soup, type SoupJobPayload, type SoupJobResult, type SoupView, type StoredRecipe } from './soup.types';
import { SoupsRepository } from './soups.repository';

export interface CreateSoupInput extends SoupRequestBody {
  name?: string;
  datasetId?: string;
  split?: EvaluationSplit;
  batchNorm?: BatchNormPolicy;
  /** Scoring and recalibration options (the evaluations' defaults for those not given). */
  options?: Partial<EvaluationOptions>;
}

/** The split a soup is scored on when none is given: held-out data. */
const DEFAULT_SPLIT: EvaluationSplit = 'validation';

/**
 * Soups and merges as jobs. POST checks everything it can before queueing (ingredients exist and
 * can be merged, from their headers; the parameters; the dataset fits the architecture; the
 * BatchNorm policy), so that a job fails only for what only running shows. While its job is
 * active a soup keeps its ingredients, base and dataset from deletion.
 */
@Injectable()
export class SoupsService implements OnModuleInit {
  private readonly logger = new Logger(SoupsService.name);
  private queue!: JobQueue<SoupJobPayload, SoupJobResult>;

  constructor(
    private readonly repository: SoupsRepository,
    private readonly runner: SoupRunner,
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
    private readonly datasets: DatasetsService,
    private readonly evaluations: EvaluationsService,
    private readonly jobs: JobsService,
    private readonly references: ReferenceRegistry,
  ) {}

  onModuleInit(): void {
    this.queue = this.jobs.define<SoupJobPayload, SoupJobResult>({
      type: SOUP_JOB,
      parsePayload: uuidPayload(SOUP_JOB, ['soupId']),
      run: (payload, ctx) => this.runJob(payload, ctx),
    });
    this.references.register('checkpoint', 'soup', (id, limit) => this.active(this.repository.unfinishedWithCheckpoint(id), limit));
    this.references.register('dataset', 'soup', (id, limit) => this.active(this.repository.unfinishedWithDataset(id), limit));
  }

  async create(input: CreateSoupInput): Promise<SoupView> {
    const request = resolveSoupRequest(input);
    if (input.batchNorm === 'repair') {
      throw new ServiceError('SOUP_BATCHNORM_UNSUPPORTED', 'batchNorm repair (REPAIR) is not available yet: use keep, or recalibrate with a dataset', { batchNorm: 'repair' });
    }
    if (!input.datasetId && request.method === 'greedy') throw new ServiceError('SOUP_DATASET_REQUIRED', 'a greedy soup scores its candidates: give datasetId (and split, default validation)', { method: 'greedy' });
    if (!input.datasetId && input.batchNorm === 'recalibrate') throw new ServiceError('SOUP_DATASET_REQUIRED', 'batchNorm recalibrate recomputes the statistics on a dataset: give datasetId', { batchNorm: 'recalibrate' });
    if (!input.datasetId && input.split) throw new ServiceError('SOUP_DATASET_REQUIRED', 'split names a split of a dataset: give datasetId', { field: 'split' });

    const ingredients: Checkpoint[] = [];
    for (const id of request.checkpointIds) ingredients.push(await this.checkpoints.get(id));
    const base = request.baseCheckpointId ? await this.checkpoints.get(request.baseCheckpointId) : null;
    const architectures = [...new Set([...ingredients, ...(base ? [base] : [])].map((c) => c.architectureId))];
    if (architectures.length > 1) {
      throw new CoreError('SOUP_INGREDIENTS_INCOMPATIBLE', `the ingredients record different architectures (${architectures.map(String).join(', ')})`, { reason: 'architecture', architectureIds: architectures });
    }
    checkRecipeDtype(request, [...ingredients, ...(base ? [base] : [])]);
    const resolved = await this.plan(request, ingredients, base);

    let dataset: DatasetRecord | null = null;
    let batchNormUsed: AppliedBatchNormPolicy = input.batchNorm ?? 'keep';
    const split = input.datasetId ? (input.split ?? DEFAULT_SPLIT) : null;
    if (input.datasetId) {
      dataset = await this.datasets.get(input.datasetId);
      if (dataset.splitSizes[split!] === 0) throw new CoreError('DATASET_EMPTY', `the ${split} split of dataset ${dataset.id} is empty: choose another split`, { split });
      const hasBatchNorm = ingredients[0].manifest.some((t) => t.name.endsWith('running_mean'));
      if (input.batchNorm === undefined && hasBatchNorm) batchNormUsed = 'recalibrate';
      for (const c of ingredients) await this.evaluations.checkFits(c, dataset, batchNormUsed === 'recalibrate' ? 'recalibrate' : 'eval');
    }

    const soup = await this.repository.create({
      name: input.name ?? null,
      method: request.method,
      checkpointIds: request.checkpointIds,
      baseCheckpointId: request.baseCheckpointId,
      parameters: request.requested,
      recipe: resolved,
      datasetId: dataset?.id ?? null,
      split,
      batchNormRequested: input.batchNorm ?? null,
      batchNormUsed,
      options: { ...DEFAULT_EVALUATION_OPTIONS, ...Object.fromEntries(Object.entries(input.options ?? {}).filter(([, v]) => v !== undefined)) },
    });
    const job = await this.queue.enqueue({ soupId: soup.id });
    await this.repository.setJob(soup.id, job.id);
    this.logger.log({ msg: 'soup queued', soupId: soup.id, method: soup.method, ingredients: soup.checkpointIds.length, jobId: job.id });
    return this.toView({ ...soup, jobId: job.id }, job);
  }

  async get(id: string): Promise<SoupView> {
    const soup = await this.repository.find(id);
    if (!soup) throw new ServiceError('SOUP_NOT_FOUND', `soup ${id} does not exist`);
    return this.toView(soup, await this.jobOf(soup));
  }

  async list(filter: { checkpointId?: string; method?: string }, limit: number, cursor?: Cursor): Promise<SoupView[]> {
    const rows = await this.repository.list(filter, limit, cursor);
    return Promise.all(rows.map(async (s) => this.toView(s, await this.jobOf(s))));
  }

  /** Cancels the soup's job: nothing is stored. */
  async cancel(id: string): Promise<SoupView> {
    const { soup } = await this.get(id);
    if (soup.jobId) await this.jobs.cancel(soup.jobId);
    return this.get(id);
  }

  /** Plans the soup from the ingredients' headers (nothing else is read): the engine's checks, and the resolved parameters. */
  private async plan(request: ResolvedSoupRequest, ingredients: Checkpoint[], base: Checkpoint | null): Promise<StoredRecipe> {
    const record = { method: request.method, checkpointIds: request.checkpointIds, baseCheckpointId: request.baseCheckpointId, source: request.source, ...(request.yaml ? { yaml: request.yaml } : {}) };
    return this.reader.withSources(base ? [base, ...ingredients] : ingredients, async (sources) => {
      const offset = base ? 1 : 0;
      const models: SoupSource[] = ingredients.map((c, i) => ({ label: `checkpoint ${c.id}`, source: sources[i + offset] }));
      if (request.method === 'greedy') {
        await planSoup({ method: 'uniform', models });
        return { ...record, parameters: { acceptTies: request.acceptTies } };
      }
      const plan = await planSoup({ method: request.method, models, base: base ? { label: `base checkpoint ${base.id}`, source: sources[0] } : undefined, parameters: request.parameters });
      return { ...record, parameters: { ...plan.parameters } };
    });
  }

  private async jobOf(soup: Soup): Promise<Job | null> {
    return soup.jobId ? this.jobs.get(soup.jobId).catch(() => null) : null;
  }

  private toView(soup: Soup, job: Job | null): SoupView {
    if (soup.report) return { soup, status: 'succeeded', progress: 1, error: null };
    if (!job) return { soup, status: soup.jobId ? 'failed' : 'queued', progress: 0, error: soup.jobId ? { code: 'JOB_NOT_FOUND', message: `job ${soup.jobId} no longer exists` } : null };
    return { soup, status: job.status === 'succeeded' ? 'running' : job.status, progress: job.progress, error: job.error };
  }

  /** Of soups without a result, those whose job is queued or running. */
  private async active(rows: Promise<{ id: string; jobId: string | null }[]>, limit: number): Promise<{ ids: string[]; total: number }> {
    const ids: string[] = [];
    for (const row of await rows) {
      const job = row.jobId ? await this.jobs.get(row.jobId).catch(() => null) : null;
      if (!row.jobId || job?.status === 'queued' || job?.status === 'running') ids.push(row.id);
    }
    return { ids: ids.slice(0, limit), total: ids.length };
  }

  private async runJob(payload: SoupJobPayload, ctx: JobContext): Promise<SoupJobResult> {
    const soup = await this.repository.find(payload.soupId);
    if (!soup) throw new ServiceError('SOUP_NOT_FOUND', `soup ${payload.soupId} does not exist`);
    if (soup.report && soup.resultCheckpointId) return { soupId: soup.id, checkpointId: soup.resultCheckpointId };
    const started = performance.now();
    const { checkpoint, report } = await this.runner.run(soup, ctx);
    if (ctx.signal.aborted) {
      await this.checkpoints.delete(checkpoint.id).catch(() => undefined);
      throw new JobCancelledError();
    }
    await this.repository.storeResult(soup.id, checkpoint.id, report);
    this.logger.log({ msg: 'soup made', soupId: soup.id, checkpointId: checkpoint.id, sha256: checkpoint.sha256, score: report.soup.score?.top1 ?? null, ms: Math.round(performance.now() - started) });
    return { soupId: soup.id, checkpointId: checkpoint.id };
  }
}

/** A recipe's dtype must be the ingredients' own (no conversion). */
function checkRecipeDtype(request: ResolvedSoupRequest, checkpoints: Checkpoint[]): void {
  if (!request.dtype) return;
  const dtype = RECIPE_DTYPES[request.dtype];
  if (!dtype) throw new CoreError('SOUP_RECIPE_INVALID', `unknown dtype ${request.dtype} (known: ${Object.keys(RECIPE_DTYPES).join(', ')})`, { dtype: request.dtype });
  for (const c of checkpoints) {
    const other = c.manifest.find((t) => isFloatDtype(t.dtype) && t.dtype !== dtype);
    if (other) throw new CoreError('SOUP_RECIPE_INVALID', `the recipe asks for ${request.dtype} but checkpoint ${c.id} holds ${other.dtype} (${other.name}): no conversion is made`, { dtype: request.dtype, checkpointId: c.id });
  }
}
