import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { evaluateGraph, parseTrainingConfig, Trainer, type TrainingData } from '../src/core/train';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';
import { resnet20Gray, syntheticGray } from './lib/train-setup';

/**
 * Training throughput of the Trainer: resnet20 (CIFAR-style, 1 input channel, 10 classes),
 * 28×28×1 seeded images, batch 128, SGD momentum 0.9, on TF.js wasm and on the pure-JS cpu
 * backend, plus eval-mode throughput (evaluateGraph). Each case: one warm-up step, then N timed
 * steps (wasm: --wasm-steps, default 5; cpu, about 50× slower: --cpu-steps, default 1, and its
 * warm-up is a batch of 8). The PyTorch figures are the project's own measurements on this
 * machine kind (2 threads), quoted as the peer. Prints one JSON object.
 * Usage: node dist-bench/bench/train-throughput.js [--wasm-steps 5] [--cpu-steps 1] [--eval-images 1024] [--out FILE]
 */
const BATCH = 128;
const PEER = {
  'pytorch CPU, 2 threads, this machine kind (2026-12-07)': { trainImagesPerSecond: 529, evalImagesPerSecond: 2561, trainImagesPerSecondOnAnotherMachine: 311 },
};

interface Case {
  backend: string;
  trainSteps: number;
  trainImagesPerSecond: number;
  stepSeconds: number[];
  evalImages: number;
  evalImagesPerSecond: number;
  finalLoss: number;
  note?: string;
}

async function measure(backend: 'wasm' | 'cpu', steps: number, evalImages: number): Promise<Case> {
  await selectBackend(backend);
  const { graph, state } = resnet20Gray(0);
  const n = BATCH * (steps + 1);
  const data: TrainingData = { dataset: syntheticGray(Math.max(n, evalImages)), indices: Array.from({ length: n }, (_, i) => i), normalization: { mean: [0.286], std: [0.353] } };
  const config = parseTrainingConfig({ optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }, batchSize: BATCH, steps: steps + 1, shuffle: false });
  // The warm-up step on cpu uses a small batch (its first batch-128 step alone takes a minute).
  if (backend === 'cpu') {
    const warm = new Trainer(graph, state, { ...data, indices: [0, 1, 2, 3, 4, 5, 6, 7] }, { ...config, batchSize: 8, steps: 1 });
    warm.runStep();
    warm.dispose();
  }
  const trainer = new Trainer(graph, state, data, config);
  const times: number[] = [];
  let loss = NaN;
  try {
    if (backend === 'wasm') trainer.runStep(); // warm-up, untimed
    for (let s = 0; s < steps; s++) {
      const started = performance.now();
      loss = trainer.runStep().loss;
      times.push((performance.now() - started) / 1000);
      process.stderr.write(`${backend} step ${s + 1}/${steps}: ${times.at(-1)?.toFixed(2)} s\n`);
    }
  } finally {
    trainer.dispose();
  }
  const evalData = { ...data, indices: Array.from({ length: evalImages }, (_, i) => i) };
  evaluateGraph(graph, state, { ...evalData, indices: [0, 1] }, { batchSize: 2 }); // warm-up
  const evalStarted = performance.now();
  evaluateGraph(graph, state, evalData, { batchSize: BATCH });
  const evalSeconds = (performance.now() - evalStarted) / 1000;
  const total = times.reduce((a, b) => a + b, 0);
  return {
    backend,
    trainSteps: steps,
    trainImagesPerSecond: round((steps * BATCH) / total, 1),
    stepSeconds: times.map((t) => round(t, 2)),
    evalImages,
    evalImagesPerSecond: round(evalImages / evalSeconds, 1),
    finalLoss: round(loss, 4),
  };
}

async function main(): Promise<void> {
  const wasmSteps = Math.round(numberOption(process.argv, 'wasm-steps', 5));
  const cpuSteps = Math.round(numberOption(process.argv, 'cpu-steps', 1));
  const evalImages = Math.round(numberOption(process.argv, 'eval-images', 1024));
  const wasm = await measure('wasm', wasmSteps, evalImages);
  const cpu = { ...(await measure('cpu', cpuSteps, BATCH)), note: `pure-JS backend: ${cpuSteps} timed step(s) after a batch-8 warm-up, evaluation on ${BATCH} images` };
  await emitReport({
    bench: 'train-throughput',
    model: 'resnet20 (CIFAR-style), inChannels 1, 10 classes, torch-default init',
    input: '28×28×1 uint8 (seeded), normalized',
    batch: BATCH,
    optimizer: 'sgd lr 0.1, momentum 0.9, weight decay 5e-4',
    cases: [wasm, cpu],
    peer: PEER,
    wasmVsPeer: round(wasm.trainImagesPerSecond / 529, 3),
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
