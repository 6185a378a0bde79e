import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { ArchitectureGraph } from '../src/core/graph/ir';
import { buildZooModel } from '../src/core/graph/zoo';
import * as ort from 'onnxruntime-node';
import {
  benchmarkEngine,
  createEngine,
  encodeGraphAsOnnx,
  float32Tensor,
  maxAbsDiff,
  randomWeights,
  type EngineKind,
  type HostTensor,
  type InferenceEngine,
  type WeightLookup,
} from '../src/core/runtime';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * Engine latency and throughput: resnet18 and resnet50 (zoo graphs, seeded random weights) at
 * batch 1, 8 and 32 on TF.js-wasm, Weightsmith's onnxruntime engine (a worker thread) and, as the
 * peer, onnxruntime-node called directly on this thread with the same model bytes and session
 * options, all in one process. Each case: median wall time of one run (outputs read) over N runs
 * after warm-up. Also checks that the engines agree on the batch-1 logits. Prints one JSON object.
 * Usage: node dist/bench/inference.js [--threads 2] [--max-seconds 300] [--out FILE]
 */
const MODELS = ['resnet18', 'resnet50'];
const BATCHES = [1, 8, 32];
type BenchedEngine = EngineKind | 'onnxruntime-direct';
const ENGINES: BenchedEngine[] = ['onnxruntime', 'onnxruntime-direct', 'tfjs'];
const THREADS = numberOption(process.argv, 'threads', 2);
/** Cases not started within this budget are reported as skipped (the bench stays bounded). */
const MAX_SECONDS = numberOption(process.argv, 'max-seconds', 300);

/** Figures measured elsewhere, for comparison only (the onnxruntime-node peer runs in this process). */
const PEERS = {
  'pytorch eager CPU, 2 threads, this machine kind (2026-12-07)': { resnet18: { batch1Ms: 46.5, batch8Ms: 329 }, resnet50: { batch1Ms: 70.5, batch8Ms: 615 } },
  'pytorch eager, H100': { resnet50: { batch1Ms: 3.6, batch256ImagesPerSecond: 6221 }, resnet18: { batch1Ms: 1.95, batch256ImagesPerSecond: 18532 } },
  'tfjs webgpu, hand-written ResNet, H100': { resnet18: { batch1Ms: 11.3, batch256ImagesPerSecond: 3162 }, resnet50: { batch1Ms: 25.3, batch256ImagesPerSecond: 1432 } },
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

/** onnxruntime-node called directly (no worker, no checks): the floor for the onnxruntime engine. */
async function directOnnxruntime(graph: ArchitectureGraph, weights: WeightLookup): Promise<InferenceEngine> {
  const session = await ort.InferenceSession.create(encodeGraphAsOnnx(graph, weights), {
    executionProviders: ['cpu'],
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const [inputName, outputName] = [graph.inputs[0].name, graph.outputs[0].name];
  return {
    kind: 'onnxruntime',
    name: 'onnxruntime-node-direct',
    async run(inputs) {
      const x = inputs[inputName];
      const out = (await session.run({ [inputName]: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) }))[outputName];
      return { [outputName]: float32Tensor([...out.dims], out.data as Float32Array) };
    },
    dispose: () => void session.release(),
  };
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
    const engine = kind === 'onnxruntime-direct' ? await directOnnxruntime(graph, weights) : await createEngine(kind, graph, weights, { intraOpNumThreads: THREADS });
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
          // e.g. past wasm's 4 GiB heap, which can leave wasm broken: recorded, and the case is run last for that reason.
          cases.push({ ...base, error: (e as Error).message.slice(0, 300) });
        }
        process.stderr.write(`${JSON.stringify(cases.at(-1))}\n`);
      }
    } finally {
      engine.dispose();
    }
  }
  if (!batch1.onnxruntime || !batch1.tfjs || !batch1['onnxruntime-direct']) return { cases, batch1RelativeDiff: null };
  // Relative to the largest logit: random weights give large logits in deep nets.
  const scale = (batch1.onnxruntime.data as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const direct = maxAbsDiff(batch1.onnxruntime, batch1['onnxruntime-direct']);
  if (!(direct === 0)) throw new Error(`the onnxruntime engine and onnxruntime-node called directly disagree by ${direct}`);
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
  const overheadMs: Record<string, number | null> = {};
  const median = (name: string, batch: number, engine: string) => results.find((r) => r.model === name && r.batch === batch && r.engine === engine)?.medianMs;
  for (const name of MODELS) {
    for (const batch of BATCHES) {
      const engine = median(name, batch, 'onnxruntime-cpu');
      const wasm = median(name, batch, 'tfjs-wasm');
      const direct = median(name, batch, 'onnxruntime-node-direct');
      speedup[`${name}/batch${batch}`] = engine && wasm ? round(wasm / engine, 1) : null;
      overheadMs[`${name}/batch${batch}`] = engine && direct ? round(engine - direct, 1) : null;
    }
  }
  const ortWins = Object.values(speedup).filter((s): s is number => s !== null);
  const report = {
    bench: 'inference',
    // Other work on the machine shows in the load average (the 2 cores are shared).
    loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0], 2) },
    tfjsBackend: tf.getBackend(),
    settings: { models: MODELS, batches: BATCHES, onnxruntimeIntraOpThreads: THREADS, weights: 'randomWeights(seed 1)', input: 'seeded uniform [-0.5, 0.5)', warmup: 1 },
    results,
    onnxruntimeSpeedupOverTfjsWasm: speedup,
    onnxruntimeEngineOverheadOverDirectMs: overheadMs,
    batch1LogitsRelativeDiffOrtVsWasm: agreement,
    fasterCpuEngine: ortWins.length && ortWins.every((s) => s > 1) ? 'onnxruntime' : ortWins.every((s) => s < 1) ? 'tfjs' : 'mixed',
    peers: PEERS,
    gpu: 'webgpu on the GPU machine is measured by bench/gpu.ts (results: bench/results/gpu-h100-webgpu*.json); the H100 peers above were measured on that machine outside these benches',
  };
  await emitReport(report);
}

main().catch((e: unknown) => {
  process.stderr.write(`inference bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
