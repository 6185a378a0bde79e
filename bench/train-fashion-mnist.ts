import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { builtinSplits, datasetStatistics, loadBuiltinDataset } from '../src/core/datasets';
import { openCheckpoint } from '../src/core/formats/open-checkpoint';
import { readAll } from '../src/core/formats/tensor-set';
import { loadGhnFromTensorSet } from '../src/core/ghn';
import { buildGhnGraph } from '../src/core/graph/ghn';
import { predictInitialization } from '../src/core/init';
import { withFileSource } from '../src/core/io/random-access';
import type { TensorBytes } from '../src/core/runtime';
import { loadNativeKernels, setActiveNativeKernels } from '../src/core/runtime/native';
import { epochPermutation, parseTrainingConfig, stateFromWeights, Trainer, type ModelState, type TrainingData } from '../src/core/train';
import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { numberOption, round } from './lib/proc-memory';
import { emitReport, stringOption } from './lib/report';
import { resnet20Gray } from './lib/train-setup';

/**
 * A learning curve: resnet20 (CIFAR-style, 1 channel, 10 classes) trained on the builtin
 * fashion-mnist (its default split for --seed; normalized with the training split's statistics)
 * from a torch-default initialization and from a GHN's prediction, printing per-epoch test top-1
 * and loss for both. SGD lr 0.1, momentum 0.9, weight decay 5e-4, cosine schedule, batch 128,
 * random crop (padding 2) and horizontal flip, on TF.js wasm. At ~60 images/s a full epoch (54,000
 * training images) takes about 15 minutes per initialization. The GHN is a checkpoint file (no
 * network here): --ghn FILE [--ghn-config FILE], e.g. from `weightsmith ghn fetch ghn3tm8`; without
 * it only the torch-default run is made. --limit N keeps N training and N test examples drawn at
 * random (a smoke run). --native T runs the convolutions on the oneDNN addon with T threads
 * (`npm run build:native`); --runs torch-default,ghn picks the runs (e.g. one per process).
 * Usage: node dist-bench/bench/train-fashion-mnist.js [--epochs 2] [--limit N] [--ghn FILE]
 * [--ghn-config FILE] [--seed 0] [--native T] [--runs LIST] [--out FILE]
 */
const BATCH = 128;

/** `limit` examples of a split drawn at random (splits list examples by class, so a prefix would be one class). */
function subset(indices: Int32Array, limit: number, seed: number): Int32Array {
  if (limit >= indices.length) return indices;
  const order = epochPermutation(seed, 0, indices.length).subarray(0, limit);
  return Int32Array.from(order, (i) => indices[i]).sort();
}

async function ghnState(file: string, configFile: string): Promise<ModelState> {
  const { graph } = resnet20Gray();
  const config = configFile ? (JSON.parse(await readFile(configFile, 'utf8')) as unknown) : undefined;
  const ghn = await withFileSource(file, async (source) => loadGhnFromTensorSet(await openCheckpoint(source, { filename: basename(file) }), config));
  try {
    const init = await predictInitialization(ghn, buildGhnGraph(graph, { builder: ghn.config.graphBuilder }), graph, { seed: 0, batchNorm: 'fresh' });
    const weights = new Map<string, TensorBytes>();
    for (const t of init.tensors) weights.set(t.name, { dtype: t.dtype, shape: t.shape, data: await readAll(t) });
    return stateFromWeights(graph, weights);
  } finally {
    ghn.dispose();
  }
}

interface EpochRow {
  epoch: number;
  trainLoss: number;
  trainTop1: number;
  testTop1: number;
  testTop5: number;
  testLoss: number;
  seconds: number;
}

function curve(state: ModelState, train: TrainingData, test: TrainingData, epochs: number, seed: number, label: string): EpochRow[] {
  const { graph } = resnet20Gray();
  const config = parseTrainingConfig({
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
    schedule: { name: 'cosine' },
    batchSize: BATCH,
    epochs,
    augment: { randomCrop: { padding: 2 }, horizontalFlip: true },
    seed,
  });
  const trainer = new Trainer(graph, state, train, config);
  const rows: EpochRow[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const started = performance.now();
      let loss = 0;
      let right = 0;
      let images = 0;
      while (trainer.step < (epoch + 1) * trainer.stepsPerEpoch) {
        const r = trainer.runStep();
        loss += r.loss * r.images;
        right += r.accuracy * r.images;
        images += r.images;
      }
      const test_ = trainer.evaluate(test, { batchSize: 256 });
      rows.push({ epoch: epoch + 1, trainLoss: round(loss / images, 4), trainTop1: round(right / images, 4), testTop1: round(test_.top1, 4), testTop5: round(test_.top5, 4), testLoss: round(test_.loss, 4), seconds: round((performance.now() - started) / 1000, 1) });
      process.stderr.write(`${label} ${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    trainer.dispose();
  }
  return rows;
}

async function main(): Promise<void> {
  const epochs = Math.round(numberOption(process.argv, 'epochs', 2));
  const limit = Math.round(numberOption(process.argv, 'limit', 1e9));
  const seed = Math.round(Number(stringOption(process.argv, 'seed', '0')));
  const ghnFile = stringOption(process.argv, 'ghn', '');
  const which = stringOption(process.argv, 'runs', 'torch-default,ghn').split(',');
  const nativeThreads = Math.round(numberOption(process.argv, 'native', 0));
  await selectBackend('wasm');
  if (nativeThreads > 0) {
    const loaded = loadNativeKernels({ threads: nativeThreads });
    if (loaded.kernels === null) throw new Error(loaded.reason);
    setActiveNativeKernels(loaded.kernels);
  }
  const dataset = await loadBuiltinDataset('fashion-mnist');
  const splits = builtinSplits(dataset, 'fashion-mnist', seed);
  const trainIndices = subset(splits.train, limit, seed);
  const testIndices = subset(splits.test, limit, seed);
  const { mean, std } = datasetStatistics(dataset, splits.train);
  const normalization = { mean, std };
  const train: TrainingData = { dataset, indices: trainIndices, normalization };
  const test: TrainingData = { dataset, indices: testIndices, normalization };
  const runs: Record<string, EpochRow[] | { skipped: string }> = {};
  if (which.includes('torch-default')) runs['torch-default'] = curve(resnet20Gray(seed).state, train, test, epochs, seed, 'torch-default');
  if (which.includes('ghn')) {
    runs.ghn = ghnFile
      ? curve(await ghnState(ghnFile, stringOption(process.argv, 'ghn-config', '')), train, test, epochs, seed, 'ghn')
      : { skipped: 'no --ghn FILE given (a GHN checkpoint, e.g. from `weightsmith ghn fetch ghn3tm8`)' };
  }
  await emitReport({
    bench: 'train-fashion-mnist',
    model: 'resnet20 (CIFAR-style), inChannels 1, 10 classes',
    dataset: { name: 'fashion-mnist', seed, train: trainIndices.length, test: testIndices.length, limited: limit < 1e9, normalization },
    training: { optimizer: 'sgd lr 0.1 momentum 0.9 weight decay 5e-4', schedule: 'cosine', batch: BATCH, epochs, augment: 'random crop padding 2, horizontal flip' },
    ghn: ghnFile ? basename(ghnFile) : null,
    kernels: nativeThreads > 0 ? `wasm + oneDNN convolutions, ${nativeThreads} thread(s)` : 'wasm',
    runs,
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
