import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { CoreError } from '../../core/errors';
import { parseGraphJson } from '../../core/graph/graph-json';
import { ServiceError } from '../../core/service-error';
import type { TensorBytes } from '../../core/runtime';
import type { ClassificationMetrics } from '../../core/train/classification-metrics';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import type { Cursor } from '../../http/pagination';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import type { DatasetRecord, LoadedDataset } from '../datasets/dataset.types';
import { DatasetsService } from '../datasets/datasets.service';
import { JobCancelledError, uuidPayload, type Job, type JobContext, type JobQueue } from '../jobs/job.types';
import { JobsService } from '../jobs/jobs.service';
import { checkModelFitsDataset } from './evaluation-request';
import { EvaluationRunner } from './evaluation-runner';
import { DEFAULT_EVALUATION_OPTIONS, EVALUATION_JOB, type BatchNormMode, type EvaluationOptions, type EvaluationRecord, type EvaluationSplit, type EvaluationView } from './evaluation.types';
import { EvaluationsRepository } from './evaluations.repository';

export interface CreateEvaluationInput {
  checkpointIds: string[];
  datasetId: string;
  split: EvaluationSplit;
  batchNorm?: BatchNormMode;
  options?: Partial<EvaluationOptions>;
}

/** How weights are scored: the split, the BatchNorm mode and the evaluation options (defaults for those not given). */
export interface ScoreSettings {
  split: EvaluationSplit;
  batchNorm: BatchNormMode;
  options?: Partial<EvaluationOptions>;
}

export interface EvaluationJobPayload {
  evaluationId: string;
}

export interface EvaluationJobResult {
  evaluationId: string;
  results: (ClassificationMetrics & { checkpointId: string })[];
}

/** Progress is written at most this often (each report is a database write). */
const PROGRESS_INTERVAL_MS = 250;

/**
 * Evaluations: top-1, top-5 and mean cross-entropy of checkpoints on a dataset split, computed by
 * a job. Everything that can be checked is checked before the evaluation is stored (dataset,
 * checkpoints, architectures, input shape and class count). Results are stored together when the
 * job succeeds, and each checkpoint's metrics then show the score with its source; a cancelled or
 * failed job stores no result.
 */
@Injectable()
export class EvaluationsService implements OnModuleInit {
  private readonly logger = new Logger(EvaluationsService.name);
  private queue!: JobQueue<EvaluationJobPayload, EvaluationJobResult>;

  constructor(
    private readonly repository: EvaluationsRepository,
    private readonly runner: EvaluationRunner,
    private readonly datasets: DatasetsService,
    private readonly checkpoints: CheckpointsService,
    private readonly architectures: ArchitecturesService,
    private readonly jobs: JobsService,
    private readonly references: ReferenceRegistry,
  ) {}

  onModuleInit(): void {
    this.queue = this.jobs.define<EvaluationJobPayload, EvaluationJobResult>({
      type: EVALUATION_JOB,
      parsePayload: uuidPayload(EVALUATION_JOB, ['evaluationId']),
      run: (payload, ctx) => this.runJob(payload, ctx),
    });
    // An evaluation keeps its dataset (its results say where they came from); a running one keeps its checkpoints.
    this.references.register('dataset', 'evaluation', (id, limit) => this.repository.usingDataset(id, limit));
    this.references.register('checkpoint', 'evaluation', (id, limit) => this.runningWithCheckpoint(id, limit));
  }

  async create(input: CreateEvaluationInput): Promise<EvaluationView> {
    const given = Object.fromEntries(Object.entries(input.options ?? {}).filter(([, v]) => v !== undefined));
    const options: EvaluationOptions = { ...DEFAULT_EVALUATION_OPTIONS, ...given };
    const batchNorm = input.batchNorm ?? 'eval';
    const checkpointIds = [...new Set(input.checkpointIds)];
    const dataset = await this.datasets.get(input.datasetId);
    if (dataset.splitSizes[input.split] === 0) throw new CoreError('DATASET_EMPTY', `the ${input.split} split of dataset ${dataset.id} is empty`, { split: input.split });
    for (const id of checkpointIds) await this.checkFits(await this.checkpoints.get(id), dataset, batchNorm);
    const evaluation = await this.repository.create({ datasetId: dataset.id, split: input.split, batchNorm, options, checkpointIds });
    const job = await this.queue.enqueue({ evaluationId: evaluation.id });
    await this.repository.setJob(evaluation.id, job.id);
    return this.toView({ ...evaluation, jobId: job.id }, job);
  }

  /**
   * Checks that a checkpoint can be scored on a dataset: it records an executable architecture
   * whose input and output fit the dataset, and it has every weight the graph uses (see
   * checkModelFitsDataset for the codes).
   */
  async checkFits(checkpoint: Checkpoint, dataset: DatasetRecord, batchNorm: BatchNormMode): Promise<void> {
    const id = checkpoint.id;
    if (!checkpoint.architectureId) throw new ServiceError('EVALUATION_INVALID', `checkpoint ${id} has no architecture to run: upload it with architectureId`, { checkpointId: id });
    const architecture = await this.architectures.get(checkpoint.architectureId);
    if (!architecture.executable) {
      throw new ServiceError('ARCHITECTURE_NOT_EXECUTABLE', `checkpoint ${id}'s architecture ${architecture.id} is known only by its GHN graph and cannot run`, { checkpointId: id });
    }
    const graph = parseGraphJson(await this.architectures.graph(architecture.id));
    checkModelFitsDataset(graph, new Set(checkpoint.manifest.map((t) => t.name)), dataset, batchNorm, id);
  }

  /**
   * Scores weights held in memory (not a stored checkpoint, e.g. a candidate soup) with an
   * architecture on a loaded dataset split, as an evaluation would: top-1, top-5, loss. Nothing is stored.
   */
  scoreTensors(architectureId: string, weights: ReadonlyMap<string, TensorBytes>, loaded: LoadedDataset, how: ScoreSettings, signal: AbortSignal): Promise<ClassificationMetrics> {
    return this.runner.scoreWeights(architectureId, weights, loaded, { split: how.split, batchNorm: how.batchNorm, options: { ...DEFAULT_EVALUATION_OPTIONS, ...how.options } }, { signal, onProgress: async () => undefined });
  }

  /** BatchNorm running statistics recomputed on the dataset's training batches, as `recalibrate` scores do (float32, by name). */
  recalibrateTensors(architectureId: string, weights: ReadonlyMap<string, TensorBytes>, loaded: LoadedDataset, options: Partial<EvaluationOptions>, signal: AbortSignal): Promise<Map<string, TensorBytes>> {
    return this.runner.recalibrate(architectureId, weights, loaded, { ...DEFAULT_EVALUATION_OPTIONS, ...options }, signal);
  }

  async get(id: string): Promise<EvaluationView> {
    const evaluation = await this.repository.find(id);
    if (!evaluation) throw new ServiceError('EVALUATION_NOT_FOUND', `evaluation ${id} does not exist`);
    return this.toView(evaluation, await this.jobOf(evaluation));
  }

  async list(filter: { checkpointId?: string; datasetId?: string }, limit: number, cursor?: Cursor): Promise<EvaluationView[]> {
    const rows = await this.repository.list(filter, limit, cursor);
    return Promise.all(rows.map(async (e) => this.toView(e, await this.jobOf(e))));
  }

  /** Deletes an evaluation and its results (409 EVALUATION_IN_PROGRESS while its job runs); checkpoints keep the metrics it set. */
  async delete(id: string): Promise<void> {
    const view = await this.get(id);
    if (view.status === 'queued' || view.status === 'running') throw new ServiceError('EVALUATION_IN_PROGRESS', `evaluation ${id} is ${view.status}: cancel its job ${view.evaluation.jobId} first`, { jobId: view.evaluation.jobId });
    await this.repository.delete(id);
  }

  private async jobOf(evaluation: EvaluationRecord): Promise<Job | null> {
    return evaluation.jobId ? this.jobs.get(evaluation.jobId).catch(() => null) : null;
  }

  private toView(evaluation: EvaluationRecord, job: Job | null): EvaluationView {
    if (evaluation.results.length > 0) return { evaluation, status: 'succeeded', progress: 1, error: null };
    if (!job) return { evaluation, status: evaluation.jobId ? 'failed' : 'queued', progress: 0, error: evaluation.jobId ? { code: 'JOB_NOT_FOUND', message: `job ${evaluation.jobId} no longer exists` } : null };
    return { evaluation, status: job.status, progress: job.progress, error: job.error };
  }

  /** Evaluations whose job is queued or running that score this checkpoint. */
  private async runningWithCheckpoint(checkpointId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const rows = await this.repository.unfinishedWithCheckpoint(checkpointId);
    const active: string[] = [];
    for (const row of rows) {
      const job = row.jobId ? await this.jobs.get(row.jobId).catch(() => null) : null;
      if (!row.jobId || job?.status === 'queued' || job?.status === 'running') active.push(row.id);
    }
    return { ids: active.slice(0, limit), total: active.length };
  }

  private async runJob(payload: EvaluationJobPayload, ctx: JobContext): Promise<EvaluationJobResult> {
    const evaluation = await this.repository.find(payload.evaluationId);
    if (!evaluation) throw new ServiceError('EVALUATION_NOT_FOUND', `evaluation ${payload.evaluationId} does not exist`);
    if (evaluation.results.length > 0) return { evaluationId: evaluation.id, results: evaluation.results.map(({ createdAt: _at, ...r }) => r) };
    const loaded = await this.datasets.load(evaluation.datasetId);
    const results: EvaluationJobResult['results'] = [];
    let reported = 0;
    const n = evaluation.checkpointIds.length;
    for (const [i, checkpointId] of evaluation.checkpointIds.entries()) {
      const checkpoint = await this.checkpoints.get(checkpointId);
      const started = performance.now();
      const metrics = await this.runner.score(checkpoint, loaded, evaluation, {
        signal: ctx.signal,
        onProgress: async (fraction) => {
          if (Date.now() - reported < PROGRESS_INTERVAL_MS && fraction < 1) return;
          reported = Date.now();
          await ctx.progress(Math.min(0.99, (i + fraction) / n));
        },
      });
      results.push({ checkpointId, ...metrics });
      this.logger.log({ msg: 'checkpoint evaluated', evaluationId: evaluation.id, checkpointId, ...metrics, ms: Math.round(performance.now() - started) });
    }
    // A cancellation that came during the last batch stores nothing either.
    if (ctx.signal.aborted) throw new JobCancelledError();
    await this.repository.storeResults(evaluation.id, results);
    const evaluatedAt = new Date().toISOString();
    for (const r of results) {
      await this.checkpoints.recordEvaluation(r.checkpointId, {
        top1: r.top1,
        top5: r.top5,
        loss: r.loss,
        source: { evaluationId: evaluation.id, datasetId: evaluation.datasetId, split: evaluation.split, batchNorm: evaluation.batchNorm, count: r.count, evaluatedAt },
      });
    }
    return { evaluationId: evaluation.id, results };
  }
}
