import { Injectable } from '@nestjs/common';
import { gatherBatch, type Normalization } from '../../core/datasets';
import { parseGraphJson } from '../../core/graph/graph-json';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { randomStream } from '../../core/init/seeded-random';
import { bindWeight, createEngine, float32Tensor, hostTensorFromBytes, toFloat32Array, type TensorBytes } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import { ClassificationAccumulator, type ClassificationMetrics } from '../../core/train/classification-metrics';
import { recalibrateBatchNorm, type InputBatch } from '../../core/train/recalibrate-bn';
import type { StateTensor } from '../../core/train/trainable-graph';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import type { LoadedDataset } from '../datasets/dataset.types';
import type { EvaluationOptions, EvaluationRecord } from './evaluation.types';

/** Yields to the event loop between batches, so that a long evaluation never holds it for long. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `count` batches of `batchSize` training examples in a seeded order (wrapping around a small split). */
export function* recalibrationBatches(loaded: LoadedDataset, count: number, batchSize: number, seed: number): Generator<InputBatch> {
  const order = Array.from(loaded.splits.train);
  const random = randomStream(seed, 'evaluation/recalibrate-bn');
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const size = Math.min(batchSize, order.length);
  for (let k = 0; k < count; k++) {
    const indices = Array.from({ length: size }, (_, j) => order[(k * size + j) % order.length]);
    yield gatherBatch(loaded.dataset, indices, loaded.normalization);
  }
}

/** Float32 state of every initializer (buffers the checkpoint lacks and no node reads, e.g. num_batches_tracked, as zeros). */
function stateOf(graph: ArchitectureGraph, weights: ReadonlyMap<string, TensorBytes>): Map<string, StateTensor> {
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  const state = new Map<string, StateTensor>();
  for (const init of graph.initializers) {
    if (!used.has(init.name) && !weights.has(init.name) && !(init.aliasOf && weights.has(init.aliasOf))) {
      state.set(init.name, { shape: init.shape, data: new Float32Array(init.shape.reduce((a, b) => a * b, 1)) });
      continue;
    }
    const bytes = bindWeight(init, weights);
    const data = toFloat32Array(hostTensorFromBytes(bytes.dtype, bytes.shape, bytes.data));
    state.set(init.name, { shape: init.shape, data: Float32Array.from(data) });
  }
  return state;
}

function asTensorBytes(t: StateTensor): TensorBytes {
  return { dtype: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
}

export interface ScoreOptions {
  signal: AbortSignal;
  /** Called after each batch with the fraction of this checkpoint's work done. */
  onProgress: (fraction: number) => Promise<void>;
}

/**
 * Scores one checkpoint on a dataset split: optionally recomputes the BatchNorm statistics on
 * training batches first (PyTorch's update_bn; the recalibrated weights are used for this score
 * only, never stored), then runs the architecture with onnxruntime in eval mode on normalized
 * batches of the split and accumulates top-1, top-5 and mean cross-entropy.
 */
@Injectable()
export class EvaluationRunner {
  constructor(
    private readonly architectures: ArchitecturesService,
    private readonly reader: CheckpointReader,
  ) {}

  async score(checkpoint: Checkpoint, loaded: LoadedDataset, evaluation: EvaluationRecord, opts: ScoreOptions): Promise<ClassificationMetrics> {
    if (!checkpoint.architectureId) throw new ServiceError('EVALUATION_INVALID', `checkpoint ${checkpoint.id} has no architecture to run`, { checkpointId: checkpoint.id });
    const weights = await this.reader.readTensors(checkpoint);
    return this.scoreWeights(checkpoint.architectureId, weights, loaded, evaluation, opts);
  }

  /** Scores weights held in memory (e.g. a soup not stored yet) as `score` scores a stored checkpoint; `weights` is not modified. */
  async scoreWeights(
    architectureId: string,
    given: ReadonlyMap<string, TensorBytes>,
    loaded: LoadedDataset,
    evaluation: Pick<EvaluationRecord, 'split' | 'batchNorm' | 'options'>,
    opts: ScoreOptions,
  ): Promise<ClassificationMetrics> {
    const graph = parseGraphJson(await this.architectures.graph(architectureId));
    const weights = new Map(given);
    const indices = loaded.splits[evaluation.split];
    const { batchSize, recalibrateBatches } = evaluation.options;
    const evalBatches = Math.ceil(indices.length / batchSize);
    const recalibrate = evaluation.batchNorm === 'recalibrate';
    const total = evalBatches + (recalibrate ? recalibrateBatches : 0);
    if (recalibrate) {
      const recalibrated = await this.recalibrateGraph(graph, weights, loaded, evaluation.options, { signal: opts.signal, onProgress: async (done) => opts.onProgress(done / total) });
      for (const [name, t] of recalibrated) weights.set(name, t);
    }
    return this.evaluate(graph, weights, loaded, indices, batchSize, async (done) => opts.onProgress(((recalibrate ? recalibrateBatches : 0) + done) / total), opts.signal);
  }

  /** The BatchNorm running statistics recomputed on training batches (float32, by state_dict name); nothing else. */
  async recalibrate(architectureId: string, weights: ReadonlyMap<string, TensorBytes>, loaded: LoadedDataset, options: EvaluationOptions, signal: AbortSignal): Promise<Map<string, TensorBytes>> {
    const graph = parseGraphJson(await this.architectures.graph(architectureId));
    return this.recalibrateGraph(graph, weights, loaded, options, { signal, onProgress: async () => undefined });
  }

  private async recalibrateGraph(
    graph: ArchitectureGraph,
    weights: ReadonlyMap<string, TensorBytes>,
    loaded: LoadedDataset,
    options: EvaluationOptions,
    opts: { signal: AbortSignal; onProgress: (batchesDone: number) => Promise<void> },
  ): Promise<Map<string, TensorBytes>> {
    const batches = recalibrationBatches(loaded, options.recalibrateBatches, options.batchSize, options.seed);
    const recalibrated = await recalibrateBatchNorm(graph, stateOf(graph, weights), batches, {
      signal: opts.signal,
      onBatch: async (done) => {
        await opts.onProgress(done);
        await yieldToLoop();
      },
    });
    return new Map([...recalibrated.tensors].map(([name, t]) => [name, asTensorBytes(t)]));
  }

  private async evaluate(
    graph: ArchitectureGraph,
    weights: ReadonlyMap<string, TensorBytes>,
    loaded: LoadedDataset,
    indices: Int32Array,
    batchSize: number,
    onBatch: (done: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ClassificationMetrics> {
    const engine = await createEngine('onnxruntime', graph, weights);
    try {
      const accumulator = new ClassificationAccumulator(loaded.dataset.classCount);
      const input = graph.inputs[0].name;
      const output = graph.outputs[0].name;
      const normalization: Normalization = loaded.normalization;
      for (let start = 0, done = 0; start < indices.length; start += batchSize, done++) {
        signal.throwIfAborted();
        const batch = gatherBatch(loaded.dataset, indices.subarray(start, start + batchSize), normalization);
        const outputs = await engine.run({ [input]: float32Tensor(batch.shape, batch.inputs) });
        accumulator.add(toFloat32Array(outputs[output]), batch.labels);
        await onBatch(done + 1);
      }
      return accumulator.result();
    } finally {
      engine.dispose();
    }
  }
}
