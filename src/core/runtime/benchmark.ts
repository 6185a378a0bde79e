import { performance } from 'node:perf_hooks';
import type { InferenceEngine } from './engine-types';
import type { HostTensor } from './host-tensor';

export interface BenchmarkOptions {
  /** Untimed runs first (the first TF.js run also builds the input-shape plan). Default 2. */
  warmup?: number;
  /** Timed runs. Default 5. */
  runs?: number;
}

export interface BenchmarkResult {
  engine: string;
  medianMs: number;
  minMs: number;
  timesMs: number[];
}

/** Wall-clock time of engine.run (outputs downloaded), median over `runs` after `warmup`. */
export async function benchmarkEngine(
  engine: InferenceEngine,
  inputs: Record<string, HostTensor>,
  options: BenchmarkOptions = {},
): Promise<BenchmarkResult> {
  for (let i = 0; i < (options.warmup ?? 2); i++) await engine.run(inputs);
  const timesMs: number[] = [];
  for (let i = 0; i < (options.runs ?? 5); i++) {
    const start = performance.now();
    await engine.run(inputs);
    timesMs.push(performance.now() - start);
  }
  const sorted = [...timesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { engine: engine.name, medianMs, minMs: sorted[0], timesMs };
}
