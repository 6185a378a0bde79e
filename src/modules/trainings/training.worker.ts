import { serializeSafetensors, type InMemoryTensor } from '../../core/formats/safetensors';
import { readAll, type LazyTensor } from '../../core/formats/tensor-set';
import { parseGraphJson } from '../../core/graph/graph-json';
import type { Dataset, Normalization } from '../../core/datasets';
import type { TensorBytes } from '../../core/runtime/host-tensor';
import { stateDictTensors, stateFromWeights } from '../../core/train/model-state';
import { Trainer } from '../../core/train/trainer';
import { decodeSnapshot, encodeSnapshot } from '../../core/train/trainer-snapshot';
import type { TrainingConfig } from '../../core/train/training-config';
import type { NativeKernelSettings, TensorBackendChoice } from '../../infra/config/app-config';
import { startNativeKernels, type NativeKernelStatus } from '../../infra/native/native-runtime';
import { selectBackend } from '../../infra/tensor-runtime/select-backend';
import { serveWorkerTask, type WorkerTaskIo } from '../../infra/workers/worker-task';
import type { CurvePoint, TrainingProgress, TrainingSchedule } from './training.types';

/** Sums over the steps of the epoch under way, carried in saved states so a resumed curve is unchanged. */
export interface EpochTotals {
  loss: number;
  correct: number;
  images: number;
}

export interface TrainingWorkerInput {
  /** Canonical graph JSON. */
  graph: unknown;
  /** The start checkpoint's tensors (ignored when resuming). */
  start: Record<string, TensorBytes>;
  /** A saved state to resume from, with the curve and epoch sums saved beside it. */
  resume: { snapshot: Uint8Array; curve: CurvePoint[]; totals: EpochTotals } | null;
  dataset: Dataset;
  trainIndices: Int32Array;
  evaluationIndices: Int32Array | null;
  normalization: Normalization;
  config: TrainingConfig;
  schedule: TrainingSchedule;
  /** Save the resumable state at most this often (and at every epoch end). */
  stateEverySeconds: number;
  backend: TensorBackendChoice;
  native: NativeKernelSettings;
}

export type TrainingEvent =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'epoch'; curve: CurvePoint[] }
  | { type: 'state'; step: number; snapshot: Uint8Array; curve: CurvePoint[]; totals: EpochTotals }
  | { type: 'save'; epoch: number; step: number; weights: Uint8Array }
  /** Which kernels run natively (at start), and primitives found running on oneDNN's reference code (after the step that made them). */
  | { type: 'kernels'; status: NativeKernelStatus; reference: Record<string, unknown>[] };

export interface TrainingWorkerResult {
  steps: number;
  weights: Uint8Array;
}

const RATE_WINDOW = 20;

async function train(input: TrainingWorkerInput, io: WorkerTaskIo): Promise<TrainingWorkerResult> {
  await selectBackend(input.backend);
  const reference: Record<string, unknown>[] = [];
  const native = startNativeKernels(input.native, { warn: (_message, detail) => reference.push(detail) });
  await io.emit({ type: 'kernels', status: native, reference: [] } satisfies TrainingEvent);
  const graph = parseGraphJson(input.graph);
  const data = { dataset: input.dataset, indices: input.trainIndices, normalization: input.normalization };
  const start = stateFromWeights(graph, new Map(Object.entries(input.start)));
  const trainer = new Trainer(graph, start, data, input.config, input.resume ? decodeSnapshot(input.resume.snapshot) : undefined);
  const curve = input.resume ? [...input.resume.curve] : [];
  let totals: EpochTotals = input.resume ? { ...input.resume.totals } : { loss: 0, correct: 0, images: 0 };
  const stepTimes: number[] = [];
  let lastState = performance.now();
  const weightsOf = async (): Promise<Uint8Array> => serializeSafetensors(await inMemory(stateDictTensors(graph, trainer.stateDict())));
  const saveState = async (): Promise<void> => {
    const snapshot = encodeSnapshot(trainer.snapshot());
    await io.emit({ type: 'state', step: trainer.step, snapshot, curve, totals } satisfies TrainingEvent, [snapshot.buffer as ArrayBuffer]);
    lastState = performance.now();
  };
  try {
    while (trainer.step < trainer.totalSteps) {
      const began = performance.now();
      const report = trainer.runStep();
      if (reference.length > 0) await io.emit({ type: 'kernels', status: native, reference: reference.splice(0) } satisfies TrainingEvent);
      stepTimes.push((performance.now() - began) / report.images);
      if (stepTimes.length > RATE_WINDOW) stepTimes.shift();
      totals = { loss: totals.loss + report.loss * report.images, correct: totals.correct + report.accuracy * report.images, images: totals.images + report.images };
      const secondsPerImage = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length / 1000;
      const progress: TrainingProgress = {
        epoch: report.epoch + 1,
        step: report.step,
        totalSteps: trainer.totalSteps,
        loss: report.loss,
        accuracy: report.accuracy,
        learningRate: report.lr,
        imagesPerSecond: secondsPerImage > 0 ? 1 / secondsPerImage : 0,
      };
      await io.emit({ type: 'progress', progress } satisfies TrainingEvent);
      const epochDone = trainer.step % trainer.stepsPerEpoch === 0 || trainer.step === trainer.totalSteps;
      if (epochDone) {
        const epoch = Math.ceil(trainer.step / trainer.stepsPerEpoch);
        const last = trainer.step === trainer.totalSteps;
        const { evaluateEvery, saveEvery, evaluationSplit } = input.schedule;
        const evaluate = input.evaluationIndices !== null && evaluateEvery > 0 && (epoch % evaluateEvery === 0 || last);
        const evaluation = evaluate
          ? { split: evaluationSplit, ...pick(trainer.evaluate({ ...data, indices: input.evaluationIndices! }, { batchSize: input.config.batchSize })) }
          : null;
        curve.push({ epoch, step: trainer.step, loss: totals.loss / totals.images, accuracy: totals.correct / totals.images, evaluation });
        totals = { loss: 0, correct: 0, images: 0 };
        await io.emit({ type: 'epoch', curve } satisfies TrainingEvent);
        if (!last && saveEvery > 0 && epoch % saveEvery === 0) {
          const weights = await weightsOf();
          await io.emit({ type: 'save', epoch, step: trainer.step, weights } satisfies TrainingEvent, [weights.buffer as ArrayBuffer]);
        }
        if (!last) await saveState();
      } else if (performance.now() - lastState >= input.stateEverySeconds * 1000) {
        await saveState();
      }
    }
    return { steps: trainer.step, weights: await weightsOf() };
  } finally {
    trainer.dispose();
  }
}

async function inMemory(tensors: readonly LazyTensor[]): Promise<InMemoryTensor[]> {
  return Promise.all(tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readAll(t) })));
}

function pick(result: { top1: number; top5: number | null; loss: number }): { top1: number; top5: number | null; loss: number } {
  return { top1: result.top1, top5: result.top5, loss: result.loss };
}

// Worker thread: runs a whole training, reporting each step and handing saved states and models to
// the calling thread, which stores them before the run goes on.
serveWorkerTask(train);
