import { cpus, loadavg } from 'node:os';
import { parseTrainingConfig, Trainer, type TrainingData } from '../src/core/train';
import { loadNativeKernels, setActiveNativeKernels, type NativeKernels } from '../src/core/runtime/native';
import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';
import { resnet20Gray, syntheticGray } from './lib/train-setup';

/**
 * Training throughput of resnet20 (1×28×28, 10 classes, batch 128, SGD momentum 0.9, file order)
 * with convolutions on the oneDNN addon against plain TF.js wasm, in the same run: one warm-up
 * step, then --steps timed steps per case; the native cases at 1 thread and at the core count.
 * `kernelSeconds` is the time inside the addon's calls; the rest of a native step is TF.js
 * (BatchNorm, ReLU, adds, the optimizer) and the copies between TF.js and the addon.
 * Usage: node dist-bench/bench/train-native.js [--steps 5] [--out FILE]
 */
const BATCH = 128;
const PEER = { 'pytorch CPU, 2 threads, this machine kind (2026-12-07)': { trainImagesPerSecond: 529, trainImagesPerSecondOnAnotherMachine: 311 } };

interface Case {
  kernels: string;
  threads: number | null;
  trainImagesPerSecond: number;
  stepSeconds: number[];
  kernelSecondsPerStep: number | null;
  finalLoss: number;
  loadAverage1mAfter: number;
}

/** The kernels with the time spent in each call added up. */
function timed(k: NativeKernels, total: { seconds: number }): NativeKernels {
  const wrap =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      const t = performance.now();
      try {
        return f(...args);
      } finally {
        total.seconds += (performance.now() - t) / 1000;
      }
    };
  return { ...k, convForward: wrap(k.convForward), convBackwardData: wrap(k.convBackwardData), convBackwardWeights: wrap(k.convBackwardWeights), matmul: wrap(k.matmul) };
}

function measure(label: string, native: NativeKernels | null, threads: number | null, steps: number): Case {
  const inKernels = { seconds: 0 };
  setActiveNativeKernels(native ? timed(native, inKernels) : null);
  const { graph, state } = resnet20Gray(0);
  const n = BATCH * (steps + 1);
  const data: TrainingData = { dataset: syntheticGray(n), indices: Array.from({ length: n }, (_, i) => i), normalization: { mean: [0.286], std: [0.353] } };
  const config = parseTrainingConfig({ optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }, batchSize: BATCH, steps: steps + 1, shuffle: false });
  const trainer = new Trainer(graph, state, data, config);
  const times: number[] = [];
  let loss = NaN;
  try {
    trainer.runStep(); // warm-up (and oneDNN's JIT compilation), untimed
    inKernels.seconds = 0;
    for (let s = 0; s < steps; s++) {
      const started = performance.now();
      loss = trainer.runStep().loss;
      times.push((performance.now() - started) / 1000);
      process.stderr.write(`${label} step ${s + 1}/${steps}: ${times.at(-1)?.toFixed(2)} s\n`);
    }
  } finally {
    trainer.dispose();
    setActiveNativeKernels(null);
  }
  const total = times.reduce((a, b) => a + b, 0);
  return {
    kernels: label,
    threads,
    trainImagesPerSecond: round((steps * BATCH) / total, 1),
    stepSeconds: times.map((t) => round(t, 2)),
    kernelSecondsPerStep: native ? round(inKernels.seconds / steps, 3) : null,
    finalLoss: round(loss, 4),
    loadAverage1mAfter: round(loadavg()[0], 2),
  };
}

async function main(): Promise<void> {
  const steps = Math.round(numberOption(process.argv, 'steps', 5));
  await selectBackend('wasm');
  const loadBefore = round(loadavg()[0], 2);
  const cases: Case[] = [measure('wasm', null, null, steps)];
  for (const threads of [1, cpus().length]) {
    const loaded = loadNativeKernels({ threads });
    if (loaded.kernels === null) throw new Error(loaded.reason);
    cases.push(measure('wasm + oneDNN convolutions', loaded.kernels, threads, steps));
    const stats = loaded.kernels.stats();
    if (stats.refPrimitives > 0) process.stderr.write(`warning: ${stats.refPrimitives} primitives on oneDNN reference code\n`);
  }
  const native = loadNativeKernels().kernels!.stats();
  const best = Math.max(...cases.slice(1).map((c) => c.trainImagesPerSecond));
  await emitReport({
    bench: 'train-native',
    model: 'resnet20 (CIFAR-style), inChannels 1, 10 classes, torch-default init',
    input: '28×28×1 uint8 (seeded), normalized; batches in file order',
    batch: BATCH,
    optimizer: 'sgd lr 0.1, momentum 0.9, weight decay 5e-4',
    oneDNN: { version: native.version, implementations: native.implementations, referencePrimitives: native.refPrimitives },
    loadAverage1mBefore: loadBefore,
    cases,
    peer: PEER,
    nativeVsWasm: round(best / cases[0].trainImagesPerSecond, 2),
    nativeVsPeer: round(best / 529, 3),
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
