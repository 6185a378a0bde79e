import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch, type Batch, type Normalization } from '../datasets/batch';
import type { Dataset } from '../datasets/dataset';
import { CoreError } from '../errors';
import { randomStream } from '../init/seeded-random';
import type { ArchitectureGraph } from '../graph/ir';
import { augmentBatch, epochPermutation } from './augment';
import { evaluateTrainable, type EvaluationResult } from './evaluate';
import type { Optimizer } from './optimizer-types';
import { learningRateAt } from './schedules';
import { TrainableGraph, type StateTensor } from './trainable-graph';
import type { TrainerSnapshot } from './trainer-snapshot';
import { createOptimizer, trainingConfigHash, type TrainingConfig } from './training-config';

/** The examples a training runs on: `indices` into `dataset`, normalized per channel. */
export interface TrainingData {
  dataset: Dataset;
  indices: ArrayLike<number>;
  normalization: Normalization;
}

export interface ModelState {
  tensors: Map<string, StateTensor>;
  counters: Map<string, number>;
}

export interface StepReport {
  /** 1-based: the number of steps done once this one is. */
  step: number;
  /** 0-based epoch the step belongs to. */
  epoch: number;
  /** The training-mode forward's loss, before the update. */
  loss: number;
  /** Batch top-1 accuracy of that forward. */
  accuracy: number;
  lr: number;
  images: number;
}

function mismatch(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('TRAINING_DATA_MISMATCH', message, details);
}

/** The model's class count from its output shape [N, K], when the graph states it. */
function graphClassCount(graph: ArchitectureGraph): number | undefined {
  const shape = graph.outputs[0]?.shape;
  return shape?.length === 2 && typeof shape[1] === 'number' ? shape[1] : undefined;
}

/** Throws TRAINING_DATA_MISMATCH unless the graph takes the dataset's images and labels. */
export function checkTrainingData(graph: ArchitectureGraph, data: TrainingData): void {
  const [n, c, h, w] = data.dataset.shape;
  if (graph.inputs.length !== 1 || graph.outputs.length < 1) throw mismatch(`training needs a graph with one input, this one has ${graph.inputs.length}`);
  const input = graph.inputs[0].shape;
  if (input.length !== 4) throw mismatch(`the graph input '${graph.inputs[0].name}' is not N×C×H×W (shape [${input.join(', ')}])`);
  const expected = [c, h, w];
  for (let d = 1; d < 4; d++) {
    if (typeof input[d] === 'number' && input[d] !== expected[d - 1]) {
      throw mismatch(`the dataset's images are ${c}×${h}×${w} but the graph takes ${input.slice(1).join('×')}`, { dataset: expected, graph: input.slice(1) });
    }
  }
  if (data.indices.length === 0) throw mismatch('no training examples were given');
  const classes = graphClassCount(graph);
  for (let i = 0; i < data.indices.length; i++) {
    const index = data.indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new CoreError('INVALID_ARGUMENT', `example index ${index} is outside [0, ${n - 1}]`, { index });
    const label = data.dataset.labels[index];
    if (classes !== undefined && label >= classes) {
      throw mismatch(`example ${index} has label ${label}, but the model has ${classes} classes`, { index, label, classes });
    }
  }
}

/**
 * Trains a graph step by step: each step gathers its batch (seeded shuffle and augmentation
 * derived from (seed, epoch, step)), runs a training-mode forward/backward, checks that the loss and
 * every gradient are finite (TRAINING_DIVERGED otherwise; the trainer must then be discarded) and
 * updates the parameters with the optimizer at the scheduled learning rate. An epoch covers every
 * training example once; its last batch may be smaller (drop_last = False). snapshot() at any step
 * and a new Trainer given it continue bit for bit. Call dispose() when done.
 */
export class Trainer {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly net: TrainableGraph;
  private readonly optimizer: Optimizer;
  private readonly configHash: string;
  private steps = 0;
  private order: { epoch: number; positions: Int32Array } | null = null;
  private labelsChecked: boolean;

  constructor(
    private readonly graph: ArchitectureGraph,
    state: ModelState,
    private readonly data: TrainingData,
    private readonly config: TrainingConfig,
    resume?: TrainerSnapshot,
  ) {
    checkTrainingData(graph, data);
    this.labelsChecked = graphClassCount(graph) !== undefined;
    this.stepsPerEpoch = Math.ceil(data.indices.length / config.batchSize);
    this.totalSteps = config.steps ?? (config.epochs as number) * this.stepsPerEpoch;
    this.configHash = trainingConfigHash(config);
    if (resume && resume.configHash !== this.configHash) {
      throw new CoreError('TRAINING_SNAPSHOT_INVALID', 'the snapshot was taken under another training configuration', { expected: this.configHash, got: resume.configHash });
    }
    if (resume && resume.step > this.totalSteps) throw new CoreError('TRAINING_SNAPSHOT_INVALID', `the snapshot is at step ${resume.step}, past the ${this.totalSteps} steps of this training`);
    this.optimizer = createOptimizer(config.optimizer);
    this.net = resume ? new TrainableGraph(graph, resume.tensors, resume.counters) : new TrainableGraph(graph, state.tensors, state.counters);
    if (resume) {
      this.optimizer.load(resume.optimizer);
      this.steps = resume.step;
    }
  }

  /** Steps done so far. */
  get step(): number {
    return this.steps;
  }

  /** The epoch the next step belongs to. */
  get epoch(): number {
    return Math.floor(this.steps / this.stepsPerEpoch);
  }

  get done(): boolean {
    return this.steps >= this.totalSteps;
  }

  /** Dataset indices of step `step`'s batch. */
  batchIndices(step: number): Int32Array {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const m = this.data.indices.length;
    const from = (step % this.stepsPerEpoch) * this.config.batchSize;
    const to = Math.min(from + this.config.batchSize, m);
    if (this.config.shuffle && this.order?.epoch !== epoch) this.order = { epoch, positions: epochPermutation(this.config.seed, epoch, m) };
    const out = new Int32Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.data.indices[this.config.shuffle ? (this.order as { positions: Int32Array }).positions[i] : i];
    return out;
  }

  /** The batch of step `step`, normalized and (when shuffling) augmented. */
  batch(step: number): Batch {
    const batch = gatherBatch(this.data.dataset, this.batchIndices(step), this.data.normalization);
    if (this.config.shuffle) augmentBatch(batch, this.data.normalization, this.config.augment, this.config.seed, step);
    return batch;
  }

  runStep(): StepReport {
    if (this.done) throw new CoreError('INVALID_ARGUMENT', `the training is complete (${this.totalSteps} steps)`);
    const step = this.steps;
    const epoch = this.epoch;
    const lr = learningRateAt(this.config.schedule, this.config.optimizer.lr, step, this.totalSteps);
    const batch = this.batch(step);
    const x = tf.tensor(batch.inputs, batch.shape, 'float32');
    const y = tf.tensor1d(batch.labels, 'int32');
    let result;
    try {
      if (!this.labelsChecked) this.checkLabels(x);
      result = this.net.trainStep(x, y, this.config.labelSmoothing, (node) => randomStream(this.config.seed, `train/dropout/step-${step}/${node}`));
    } finally {
      tf.dispose([x, y]);
    }
    const diverged = (what: string) => new CoreError('TRAINING_DIVERGED', `training diverged at step ${step + 1}: ${what} (lr ${lr})`, { step: step + 1, lr });
    if (!Number.isFinite(result.loss)) throw diverged(`the loss is ${result.loss}`);
    for (const [name, g] of result.grads) {
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) throw diverged(`the gradient of ${name} is not finite`);
    }
    this.optimizer.setLearningRate(lr);
    const params = this.net.parameters();
    this.optimizer.step(params, result.grads);
    this.net.setParameters(params);
    this.steps = step + 1;
    return { step: this.steps, epoch, loss: result.loss, accuracy: top1(result.logits, batch.labels), lr, images: batch.labels.length };
  }

  /** A graph without a stated class count: the first forward's logits tell it. */
  private checkLabels(x: tf.Tensor): void {
    const first = tf.slice(x, 0, 1);
    let classes: number;
    try {
      classes = this.net.evaluate(first).length;
    } finally {
      first.dispose();
    }
    for (let i = 0; i < this.data.indices.length; i++) {
      const label = this.data.dataset.labels[this.data.indices[i]];
      if (label >= classes) throw mismatch(`example ${this.data.indices[i]} has label ${label}, but the model has ${classes} classes`, { index: this.data.indices[i], label, classes });
    }
    this.labelsChecked = true;
  }

  snapshot(): TrainerSnapshot {
    const { tensors, counters } = this.net.stateDict();
    return { step: this.steps, tensors, counters, optimizer: this.optimizer.state(), configHash: this.configHash };
  }

  stateDict(): ModelState {
    return this.net.stateDict();
  }

  /** Eval-mode metrics of the current model on `data` (running BatchNorm statistics; no state changes). */
  evaluate(data: TrainingData, options: { batchSize: number }): EvaluationResult {
    checkTrainingData(this.graph, data);
    return evaluateTrainable(this.net, data, options.batchSize);
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** Fraction of rows of logits [N, K] whose largest value is at the label. */
function top1(logits: Float32Array, labels: Int32Array): number {
  const k = logits.length / labels.length;
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
    if (best === labels[i]) right++;
  }
  return right / labels.length;
}
