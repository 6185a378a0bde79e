import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { ArchitectureGraph } from '../src/core/graph/ir';
import { buildZooModel } from '../src/core/graph/zoo';
import { benchmarkEngine, createEngine, float32Tensor, maxAbsDiff, randomWeights, type EngineKind, type HostTensor } from '../src/core/runtime';
import { numberOption, round } from './lib/proc-memory';

/**
 * Engine latency and throughput: resnet18 and resnet50 (zoo graphs, seeded random weights) at
 * batch 1, 8 and 32 on TF.js-wasm and onnxruntime-node (CPU), in one process. Each case: median
 * wall time of engine.run (outputs downloaded) over N runs after warm-up. Also checks that both
 * engines agree on the batch-1 logits. Prints one JSON object.
 * Usage: node dist/bench/inference.js [--threads 2] [--max-seconds 240]
 */
const MODELS = ['resnet18', 'resnet50'];
const BATCHES = [1, 8, 32];
const ENGINES: EngineKind[] = ['onnxruntime', 'tfjs'];
const THREADS = numberOption(process.argv, 'threads', 2);
/** Cases not started within this budget are reported as skipped (the bench stays bounded). */
const MAX_SECONDS = numberOption(process.argv, 'max-seconds', 240);

const PEERS = {
  'onnxruntime-node (DESIGN §5, measured on this 2-core machine, 2 threads)': { resnet18: { batch1Ms: 9.3 }, resnet50: { batch1Ms: 23 } },
  'pytorch eager, H100 (shared/gpu/README.md)': { resnet50: { batch1Ms: 3.6, batch256ImagesPerSecond: 6221 }, resnet18: { batch1Ms: 1.95, batch256ImagesPerSecond: 18532 } },
  'tfjs webgpu, hand-written ResNet, H100 (shared/gpu/README.md)': { resnet18: { batch1Ms: 11.3, batch256ImagesPerSecond: 3162 }, resnet50: { batch1Ms: 25.3, batch256ImagesPerSecond: 1432 } },
};

interface CaseResult {
  model: string;
  engine: string;
  batch: number;
  medianMs?: number;
  minMs?: number;
  imagesPerSecond?: number;
  runs?: number;
  error?: string;
  skipped?: string;
}

function input(batch: number, seed: number): HostTensor {
  const data = new Float32Array(batch * 3 * 224 * 224);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return float32Tensor([batch, 3, 224, 224], data);
}

/** Fewer runs for big batches so that the bench stays within a few minutes on 2 cores. */
const runsFor = (batch: number, model: string): number => (batch === 1 ? 10 : batch === 8 ? 5 : model === 'resnet50' ? 2 : 3);

async function benchModel(name: string, graph: ArchitectureGraph, deadline: number): Promise<{ cases: CaseResult[]; batch1RelativeDiff: number | null }> {
  const weights = randomWeights(graph, { seed: 1 });
  const cases: CaseResult[] = [];
  const batch1: Record<string, HostTensor> = {};
  for (const kind of ENGINES) {
    const engine = await createEngine(kind, graph, weights, { intraOpNumThreads: THREADS });
    try {
      for (const batch of BATCHES) {
        const base = { model: name, engine: engine.name, batch };
        if (Date.now() > deadline) {
          cases.push({ ...base, skipped: `not started within --max-seconds ${MAX_SECONDS}` });
          continue;
        }
        const inputs = { input: input(batch, 7) };
        try {
          if (batch === 1) batch1[kind] = (await engine.run(inputs)).logits;
          const r = await benchmarkEngine(engine, inputs, { warmup: 1, runs: runsFor(batch, name) });
          cases.push({ ...base, medianMs: round(r.medianMs, 1), minMs: round(r.minMs, 1), imagesPerSecond: round((batch * 1000) / r.medianMs, 1), runs: r.timesMs.length });
        } catch (e) {
          // e.g. wasm's 4 GiB heap (DESIGN §10): recorded, and the case is run last for that reason.
          cases.push({ ...base, error: (e as Error).message.slice(0, 300) });
        }
        process.stderr.write(`${JSON.stringify(cases.at(-1))}\n`);
      }
    } finally {
      engine.dispose();
    }
  }
  if (!batch1.onnxruntime || !batch1.tfjs) return { cases, batch1RelativeDiff: null };
  // Relative to the largest logit (DESIGN §10): random weights give large logits in deep nets.
  const scale = (batch1.onnxruntime.data as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { cases, batch1RelativeDiff: Number((maxAbsDiff(batch1.onnxruntime, batch1.tfjs) / scale).toExponential(2)) };
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  const loadBefore = loadavg()[0];
  const deadline = Date.now() + MAX_SECONDS * 1000;
  const results: CaseResult[] = [];
  const agreement: Record<string, number | null> = {};
  for (const name of MODELS) {
    const { cases, batch1RelativeDiff } = await benchModel(name, buildZooModel(name), deadline);
    results.push(...cases);
    agreement[name] = batch1RelativeDiff;
  }
  const speedup: Record<string, number | null> = {};
  for (const name of MODELS) {
    for (const batch of BATCHES) {
      const ort = results.find((r) => r.model === name && r.batch === batch && r.engine === 'onnxruntime-cpu')?.medianMs;
      const wasm = results.find((r) => r.model === name && r.batch === batch && r.engine === 'tfjs-wasm')?.medianMs;
      speedup[`${name}/batch${batch}`] = ort && wasm ? round(wasm / ort, 1) : null;
    }
  }
  const ortWins = Object.values(speedup).filter((s): s is number => s !== null);
  const report = {
    bench: 'inference',
    // Other work on the machine shows in the load average (the 2 cores are shared).
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, tfjsBackend: tf.getBackend(), loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0], 2) } },
    settings: { models: MODELS, batches: BATCHES, onnxruntimeIntraOpThreads: THREADS, weights: 'randomWeights(seed 1)', input: 'seeded uniform [-0.5, 0.5)', warmup: 1 },
    results,
    onnxruntimeSpeedupOverTfjsWasm: speedup,
    batch1LogitsRelativeDiffOrtVsWasm: agreement,
    fasterCpuEngine: ortWins.length && ortWins.every((s) => s > 1) ? 'onnxruntime' : ortWins.every((s) => s < 1) ? 'tfjs' : 'mixed',
    peers: PEERS,
    gpu: 'webgpu on the GPU machine is measured by bench/gpu.ts (results: bench/results/gpu-h100-webgpu*.json); the peers above are from shared/gpu/README.md',
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`inference bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
