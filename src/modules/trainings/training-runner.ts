import { Inject, Injectable, Logger } from '@nestjs/common';
import { buffer } from 'node:stream/consumers';
import { ServiceError } from '../../core/service-error';
import type { TensorBytes } from '../../core/runtime/host-tensor';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { runInWorker, workerScript } from '../../infra/workers/run-in-worker';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { DatasetsService } from '../datasets/datasets.service';
import type { JobContext } from '../jobs/job.types';
import { TRAINED_CHECKPOINT_KIND, TRAINING_STATE_CHECKPOINT_KIND, type CurvePoint, type Training } from './training.types';
import type { EpochTotals, TrainingEvent, TrainingWorkerInput, TrainingWorkerResult } from './training.worker';
import { TrainingsRepository } from './trainings.repository';

const WORKER_TIMEOUT_MS = 7 * 24 * 3600_000;
const PROGRESS_EVERY_MS = 1000;

/**
 * Runs one training in a worker thread and stores what it hands back: progress and the learning
 * curve on the row, the resumable state as a `training-state` checkpoint (replacing the previous
 * one), saved and final models as `trained` checkpoints with the start checkpoint as parent and the
 * dataset in their metadata. A run that finds a saved state resumes from it: the worker continues
 * the identical trajectory.
 */
@Injectable()
export class TrainingRunner {
  private readonly logger = new Logger(TrainingRunner.name);

  constructor(
    private readonly repository: TrainingsRepository,
    private readonly architectures: ArchitecturesService,
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
    private readonly datasets: DatasetsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(training: Training, start: Checkpoint, ctx: JobContext): Promise<Checkpoint> {
    const { settings } = training;
    const graph = await this.architectures.graph(training.architectureId);
    const loaded = await this.datasets.load(training.datasetId);
    const state = training.stateCheckpointId ? await this.checkpoints.get(training.stateCheckpointId).catch(() => null) : null;
    const input: TrainingWorkerInput = {
      graph,
      start: state ? {} : Object.fromEntries(await this.reader.readTensors(start)) as Record<string, TensorBytes>,
      resume: state ? { snapshot: new Uint8Array(await buffer(await this.reader.openWeights(state, null))), ...(state.metadata.resume as { curve: CurvePoint[]; totals: EpochTotals }) } : null,
      dataset: loaded.dataset,
      trainIndices: loaded.splits.train,
      evaluationIndices: settings.evaluateEvery > 0 ? loaded.splits[settings.evaluationSplit] : null,
      normalization: loaded.normalization,
      config: settings.training,
      schedule: { evaluateEvery: settings.evaluateEvery, saveEvery: settings.saveEvery, evaluationSplit: settings.evaluationSplit },
      stateEverySeconds: this.config.training.stateEverySeconds,
      backend: this.config.backend,
      native: this.config.native,
    };
    if (state) this.logger.log({ msg: 'training resumes from its saved state', trainingId: training.id, stateCheckpointId: state.id, step: state.metadata.step });
    const saved = [...training.savedCheckpointIds];
    let lastProgress = 0;
    const onEvent = async (raw: unknown): Promise<void> => {
      const event = raw as TrainingEvent;
      if (event.type === 'progress') {
        if (Date.now() - lastProgress < PROGRESS_EVERY_MS && event.progress.step < event.progress.totalSteps) return;
        lastProgress = Date.now();
        await this.repository.setProgress(training.id, event.progress);
        await ctx.progress(event.progress.step / event.progress.totalSteps);
      } else if (event.type === 'kernels') {
        if (event.reference.length > 0) this.logger.warn({ msg: 'native kernels run on oneDNN reference code (slow) for these shapes', trainingId: training.id, primitives: event.reference });
        else this.logger.log({ msg: event.status.active ? 'training runs native kernels' : 'training runs on TF.js only', trainingId: training.id, native: event.status });
      } else if (event.type === 'epoch') {
        await this.repository.setCurve(training.id, event.curve);
      } else if (event.type === 'save') {
        const checkpoint = await this.storeModel(training, start, event.weights, { epoch: event.epoch, step: event.step, final: false }, ctx.signal);
        saved.push(checkpoint.id);
        await this.repository.setSaved(training.id, saved);
      } else {
        const checkpoint = await this.storeBytes(training, start, event.snapshot, {
          name: `${training.name}-state`,
          kind: TRAINING_STATE_CHECKPOINT_KIND,
          metadata: { trainingId: training.id, step: event.step, resume: { curve: event.curve, totals: event.totals } },
        }, ctx.signal);
        const replaced = await this.repository.replaceState(training.id, checkpoint.id, event.curve);
        if (replaced) await this.discard(replaced);
      }
    };
    const result = await runInWorker<TrainingWorkerInput, TrainingWorkerResult>(workerScript(__dirname, 'training.worker'), input, {
      timeoutMs: WORKER_TIMEOUT_MS,
      signal: ctx.signal,
      onEvent,
    });
    ctx.signal.throwIfAborted();
    const final = await this.storeModel(training, start, result.weights, { epoch: null, step: result.steps, final: true }, ctx.signal);
    await this.repository.setSaved(training.id, [...saved, final.id]);
    await this.discardState(training.id);
    return final;
  }

  /** Removes everything a run stored (a cancelled run stores nothing). */
  async discardRun(trainingId: string): Promise<void> {
    for (const id of await this.repository.reset(trainingId)) await this.discard(id);
  }

  /** Removes the run's resumable state, keeping the models it saved. */
  async discardState(trainingId: string): Promise<void> {
    const replaced = await this.repository.replaceState(trainingId, null);
    if (replaced) await this.discard(replaced);
  }

  async discard(checkpointId: string): Promise<void> {
    await this.checkpoints.delete(checkpointId).catch((e: unknown) => this.logger.warn({ msg: 'could not remove a training checkpoint', checkpointId, error: String(e) }));
  }

  private storeModel(training: Training, start: Checkpoint, weights: Uint8Array, at: { epoch: number | null; step: number; final: boolean }, signal: AbortSignal): Promise<Checkpoint> {
    const label = at.final ? 'final' : `epoch${at.epoch}`;
    return this.storeBytes(training, start, weights, {
      name: `${training.name}-${label}`,
      kind: TRAINED_CHECKPOINT_KIND,
      metadata: { trainingId: training.id, datasetId: training.datasetId, startCheckpointId: start.id, epoch: at.epoch, step: at.step, final: at.final },
    }, signal);
  }

  private storeBytes(training: Training, start: Checkpoint, bytes: Uint8Array, info: { name: string; kind: string; metadata: Record<string, unknown> }, signal: AbortSignal): Promise<Checkpoint> {
    if (bytes.byteLength === 0) throw new ServiceError('INTERNAL', 'the training worker handed back no bytes');
    return this.checkpoints.storeComputedStream(
      { ...info, architectureId: training.architectureId, parentIds: [start.id] },
      (sink) => new Promise<void>((resolve, reject) => sink.write(bytes, (e) => (e ? reject(e) : resolve()))),
      signal,
    );
  }
}
