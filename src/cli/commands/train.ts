import { performance } from 'node:perf_hooks';
import { readDataset } from '../../core/datasets';
import { writeSafetensors } from '../../core/formats/safetensors';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { withFileSource } from '../../core/io/random-access';
import { openCheckpoint } from '../../core/formats/open-checkpoint';
import { tensorSetWeights, type TensorBytes } from '../../core/runtime';
import { counterNames, stateDictTensors, stateFromWeights } from '../../core/train/model-state';
import { Trainer, type ModelState } from '../../core/train/trainer';
import { parseTrainingConfig, type OptimizerName } from '../../core/train/training-config';
import { UsageError } from '../cli-io';
import { loadArchitectureSource } from './graph';

export interface TrainCommandOptions {
  arch: string;
  weights: string;
  data: string;
  optimizer: OptimizerName;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  topC?: number;
  decay?: number;
  labelSmoothing?: number;
  batchSize: number;
  steps?: number;
  epochs?: number;
  /** Commander's `--no-shuffle` sets this to false. */
  shuffle: boolean;
  seed?: number;
  out: string;
}

export interface TrainSummary {
  arch: string;
  out: string;
  optimizer: OptimizerName;
  lr: number;
  batchSize: number;
  examples: number;
  steps: number;
  epochs: number;
  /** Loss of each step's forward, before its update. */
  losses: number[];
  finalLoss: number;
  imagesPerSecond: number;
  seconds: number;
  /** Whether convolutions ran on the oneDNN addon (WEIGHTSMITH_NATIVE_KERNELS), why not, and any shape that ran on oneDNN's reference code. */
  nativeKernels: { active: boolean; reason: string | null; referencePrimitives: Record<string, unknown>[] };
}

/** torch.optim's default learning rate (SGD, Adam, AdamW): 1e-3. */
export const DEFAULT_LR = 1e-3;

/** The checkpoint's tensors the training needs: every initializer (and alias target) and the BatchNorm counters. */
async function readTrainingWeights(graph: ArchitectureGraph, file: string): Promise<Map<string, TensorBytes>> {
  const names = new Set([...graph.initializers.flatMap((i) => (i.aliasOf !== undefined ? [i.name, i.aliasOf] : [i.name])), ...counterNames(graph)]);
  return withFileSource(file, async (source) => tensorSetWeights(await openCheckpoint(source, { filename: file }), names));
}

/**
 * `weightsmith train`: trains an architecture from a checkpoint on a dataset file and writes the
 * state_dict (atomically). Inputs are used as stored (float32 as is, uint8 / 255: no normalization);
 * the learning rate is constant; `--no-shuffle` takes batches in file order without augmentation,
 * otherwise each epoch is shuffled from --seed (no augmentation either way). Runs on TF.js wasm, with
 * convolutions on the oneDNN addon when it is built (WEIGHTSMITH_NATIVE_KERNELS=auto).
 */
export async function runTrainCommand(options: TrainCommandOptions, resolvePath: (p: string) => string): Promise<TrainSummary> {
  const started = performance.now();
  if ((options.steps === undefined) === (options.epochs === undefined)) throw new UsageError('give exactly one of --steps and --epochs');
  const config = parseTrainingConfig({
    optimizer: {
      name: options.optimizer,
      lr: options.lr ?? DEFAULT_LR,
      ...(options.momentum !== undefined ? { momentum: options.momentum } : {}),
      ...(options.nesterov ? { nesterov: true } : {}),
      ...(options.weightDecay !== undefined ? { weightDecay: options.weightDecay } : {}),
      ...(options.topC !== undefined ? { topC: options.topC } : {}),
      ...(options.decay !== undefined ? { decay: options.decay } : {}),
    },
    batchSize: options.batchSize,
    ...(options.steps !== undefined ? { steps: options.steps } : { epochs: options.epochs }),
    shuffle: options.shuffle,
    seed: options.seed ?? 0,
    labelSmoothing: options.labelSmoothing ?? 0,
  });
  const loaded = await loadArchitectureSource(options.arch, resolvePath);
  if (loaded.kind !== 'architecture') throw new UsageError(`${options.arch} is a GHN graph: it cannot be trained (give zoo:NAME, an .onnx file or a canonical graph JSON)`);
  const graph = loaded.graph;
  const state = stateFromWeights(graph, await readTrainingWeights(graph, resolvePath(options.weights)));
  const dataset = await withFileSource(resolvePath(options.data), (source) => readDataset(source));
  const channels = dataset.shape[1];
  const data = { dataset, indices: Array.from({ length: dataset.shape[0] }, (_, i) => i), normalization: { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) } };
  const { selectBackend } = await import('../../infra/tensor-runtime/select-backend');
  await selectBackend('wasm');
  const { loadConfig } = await import('../../infra/config/app-config');
  const { startNativeKernels } = await import('../../infra/native/native-runtime');
  const referencePrimitives: Record<string, unknown>[] = [];
  const native = startNativeKernels(loadConfig(process.env, process.cwd()).native, { warn: (_message, detail) => referencePrimitives.push(detail) });
  const trainer = new Trainer(graph, state, data, config);
  const losses: number[] = [];
  let images = 0;
  const trainStarted = performance.now();
  let result: ModelState;
  try {
    while (trainer.step < trainer.totalSteps) {
      const report = trainer.runStep();
      losses.push(report.loss);
      images += report.images;
    }
    result = trainer.stateDict();
  } finally {
    trainer.dispose();
  }
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const out = resolvePath(options.out);
  await writeSafetensors(out, stateDictTensors(graph, result), { format: 'pt', trained_by: 'weightsmith train' });
  return {
    arch: options.arch,
    out,
    optimizer: config.optimizer.name,
    lr: config.optimizer.lr,
    batchSize: config.batchSize,
    examples: dataset.shape[0],
    steps: trainer.totalSteps,
    epochs: trainer.totalSteps / trainer.stepsPerEpoch,
    losses,
    finalLoss: losses[losses.length - 1],
    imagesPerSecond: Math.round((images / trainSeconds) * 10) / 10,
    seconds: Math.round(performance.now() - started) / 1000,
    nativeKernels: { active: native.active, reason: native.reason, referencePrimitives },
  };
}
