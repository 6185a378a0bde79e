import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { parseGraphJson } from '../../core/graph/graph-json';
import { ServiceError } from '../../core/service-error';
import { checkDatasetFits } from '../../core/train/data-fit';
import { parseTrainingConfig } from '../../core/train/training-config';
import { untrainableOps } from '../../core/train/trainable-graph';
import { CoreError } from '../../core/errors';
import type { Cursor } from '../../http/pagination';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { DatasetsService } from '../datasets/datasets.service';
import type { CreateInitializationInput } from '../initializations/initialization-request';
import { InitializationsService } from '../initializations/initializations.service';
import { JobCancelledError, uuidPayload, type JobContext, type JobQueue } from '../jobs/job.types';
import { JobsService } from '../jobs/jobs.service';
import { TrainingRunner } from './training-runner';
import { TrainingsRepository } from './trainings.repository';
import { TRAINING_JOB, type Training, type TrainingFilter, type TrainingJobPayload, type TrainingJobResult, type TrainingSettings, type TrainingView } from './training.types';

/** POST /v1/trainings, validated by its DTO; the training options are checked again in core. */
export interface CreateTrainingInput {
  name?: string;
  start: { checkpointId?: string; initialization?: CreateInitializationInput };
  datasetId: string;
  evaluateEvery?: number;
  saveEvery?: number;
  evaluationSplit?: 'validation' | 'test';
  /** optimizer, schedule, epochs | steps, batchSize, augment, seed, labelSmoothing, shuffle. */
  options: Record<string, unknown>;
}

const START_WAIT_POLL_MS = 500;

/**
 * Training runs as jobs: POST validates everything it can (dataset, start, architecture, options,
 * that the data fits the model) before queueing, so a run fails only for what only running shows
 * (a diverging loss). The start may be an initialization request, computed first when needed.
 */
@Injectable()
export class TrainingsService implements OnModuleInit {
  private readonly logger = new Logger(TrainingsService.name);
  private queue!: JobQueue<TrainingJobPayload, TrainingJobResult>;

  constructor(
    private readonly repository: TrainingsRepository,
    private readonly runner: TrainingRunner,
    private readonly architectures: ArchitecturesService,
    private readonly checkpoints: CheckpointsService,
    private readonly datasets: DatasetsService,
    private readonly initializations: InitializationsService,
    private readonly jobs: JobsService,
    private readonly references: ReferenceRegistry,
  ) {}

  onModuleInit(): void {
    this.queue = this.jobs.define<TrainingJobPayload, TrainingJobResult>({
      type: TRAINING_JOB,
      parsePayload: uuidPayload(TRAINING_JOB, ['trainingId']),
      run: (payload, ctx) => this.runJob(payload, ctx),
      // A run whose process died resumes from its saved state.
      maxAttempts: 5,
    });
    this.references.register('checkpoint', 'training', (id, limit) => this.repository.usingCheckpoint(id, limit));
    this.references.register('dataset', 'training', (id, limit) => this.repository.usingDataset(id, limit));
  }

  async create(input: CreateTrainingInput): Promise<TrainingView> {
    if ((input.start.checkpointId === undefined) === (input.start.initialization === undefined)) {
      throw new ServiceError('VALIDATION_FAILED', 'start needs exactly one of checkpointId and initialization', { field: 'start' });
    }
    const training = parseTrainingConfig({ schedule: { name: 'constant' }, augment: {}, seed: 0, labelSmoothing: 0, shuffle: true, ...input.options });
    const settings: TrainingSettings = {
      training,
      evaluateEvery: input.evaluateEvery ?? 1,
      saveEvery: input.saveEvery ?? 0,
      evaluationSplit: input.evaluationSplit ?? 'validation',
    };
    const dataset = await this.datasets.get(input.datasetId);
    let start: Checkpoint | null = null;
    let architectureId: string;
    let initializationId: string | null = null;
    if (input.start.checkpointId) {
      start = await this.checkpoints.get(input.start.checkpointId);
      if (!start.architectureId) {
        throw new ServiceError('CHECKPOINT_ARCHITECTURE_MISMATCH', `checkpoint ${start.id} has no architecture: record one (architectureId) to train it`, { checkpointId: start.id });
      }
      architectureId = start.architectureId;
    } else {
      architectureId = input.start.initialization!.architectureId;
    }
    const architecture = await this.architectures.get(architectureId);
    if (!architecture.executable) {
      throw new ServiceError('ARCHITECTURE_NOT_EXECUTABLE', `architecture ${architecture.id} is known only by its GHN graph: it cannot run, so it cannot train`);
    }
    const graph = parseGraphJson(await this.architectures.graph(architectureId));
    const missing = untrainableOps(graph);
    if (missing.length > 0) throw new CoreError('GRAPH_UNKNOWN_OP', `training does not support the op(s) ${missing.join(', ')}`, { ops: missing });
    checkDatasetFits(graph, dataset.shape, dataset.classCount);
    if (input.start.initialization) {
      const { view } = await this.initializations.create({ ...input.start.initialization, architectureId }, { preferAsync: true });
      initializationId = view.initialization.id;
      if (view.initialization.checkpointId) start = await this.checkpoints.get(view.initialization.checkpointId);
    }
    const row = await this.repository.create({
      name: input.name ?? `${architecture.name}-${dataset.name}`,
      architectureId,
      startCheckpointId: start?.id ?? null,
      initializationId,
      datasetId: dataset.id,
      settings,
    });
    const job = await this.queue.enqueue({ trainingId: row.id });
    await this.repository.setJob(row.id, job.id);
    this.logger.log({ msg: 'training queued', trainingId: row.id, jobId: job.id });
    return { training: { ...row, jobId: job.id }, status: 'queued', error: null };
  }

  async get(id: string): Promise<TrainingView> {
    const training = await this.repository.find(id);
    if (!training) throw new ServiceError('TRAINING_NOT_FOUND', `training ${id} does not exist`);
    return this.view(training);
  }

  async list(filter: TrainingFilter, limit: number, cursor?: Cursor): Promise<TrainingView[]> {
    const rows = await this.repository.list(filter, limit, cursor);
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** Cancels the run (its job): it stops at once and what it stored is removed. */
  async cancel(id: string): Promise<TrainingView> {
    const { training } = await this.get(id);
    if (training.jobId) await this.jobs.cancel(training.jobId);
    return this.get(id);
  }

  /** Deletes a finished run's record; the models it saved stay (they are checkpoints of their own). */
  async delete(id: string): Promise<void> {
    const view = await this.get(id);
    if (view.status === 'queued' || view.status === 'running') {
      throw new ServiceError('TRAINING_ACTIVE', `training ${id} is ${view.status}: cancel it first`, { status: view.status });
    }
    if (view.training.stateCheckpointId) await this.runner.discard(view.training.stateCheckpointId);
    await this.repository.delete(id);
  }

  private async view(training: Training): Promise<TrainingView> {
    if (!training.jobId) return { training, status: 'queued', error: null };
    const job = await this.jobs.get(training.jobId).catch(() => null);
    if (!job) return { training, status: 'failed', error: { code: 'JOB_NOT_FOUND', message: `job ${training.jobId} no longer exists` } };
    return { training, status: job.status, error: job.error };
  }

  private async runJob(payload: TrainingJobPayload, ctx: JobContext): Promise<TrainingJobResult> {
    const training = await this.repository.find(payload.trainingId);
    if (!training) throw new ServiceError('TRAINING_NOT_FOUND', `training ${payload.trainingId} does not exist`);
    try {
      const start = await this.startOf(training, ctx);
      const checkpoint = await this.runner.run({ ...training, startCheckpointId: start.id }, start, ctx);
      return { trainingId: training.id, checkpointId: checkpoint.id };
    } catch (e) {
      // A cancelled run stores nothing; a stopping server keeps the state for the next attempt; a
      // failed run keeps the models it saved but not its state (there is nothing to resume).
      const job = await this.jobs.get(ctx.jobId).catch(() => null);
      if (job?.cancelRequested) {
        await this.runner.discardRun(training.id);
        throw new JobCancelledError();
      }
      if (!ctx.signal.aborted) await this.runner.discardState(training.id);
      throw e;
    }
  }

  /** The start checkpoint, waiting for an initialization that a job still computes. */
  private async startOf(training: Training, ctx: JobContext): Promise<Checkpoint> {
    if (training.startCheckpointId) return this.checkpoints.get(training.startCheckpointId);
    for (;;) {
      const view = await this.initializations.get(training.initializationId!);
      if (view.initialization.checkpointId) {
        await this.repository.setStart(training.id, view.initialization.checkpointId);
        return this.checkpoints.get(view.initialization.checkpointId);
      }
      if (view.status === 'failed' || view.status === 'cancelled') {
        throw new ServiceError('TRAINING_START_FAILED', `the initialization this training starts from ${view.status}: ${view.error?.message ?? 'no detail'}`, {
          initializationId: view.initialization.id,
        });
      }
      await ctx.progress(0);
      await new Promise((resolve) => setTimeout(resolve, START_WAIT_POLL_MS));
    }
  }
}

