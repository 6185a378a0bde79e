/**
 * Spec helpers for the GHN fixtures (fixtures/ghn, made with the official code): read-only access to configs,
 * graphs, runs and the manifest, plus the "relative r" comparison: max|a − b| ≤ r · max|b| per tensor.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { readAll } from '../formats/tensor-set';
import { readSafetensors } from '../formats/safetensors';
import { parseGhnGraphJson } from '../graph/ghn/ghn-graph-json';
import type { GhnGraph } from '../graph/ghn/ghn-graph';
import { withFileSource } from '../io/random-access';
import { fixturesDir } from '../testing/fixtures';
import { loadGhn, type Ghn } from './ghn';
import type { GhnConfig } from './ghn-config';

/** The config of the fixtures' ghn3_h32_l3 GHN, as parsed (ghn/ghn/ghn3_h32_l3.json). */
export const GHN3_H32_L3_CONFIG: GhnConfig = {
  impl: 'ghn3',
  graphBuilder: 'ghn3',
  hid: 32,
  maxShape: [32, 32, 16, 16],
  numClasses: 1000,
  heads: 8,
  layers: 3,
  isGhn2: false,
  weightNorm: true,
  ve: true,
  layernorm: true,
};

export const GHN_FIXTURE_CONFIGS = ['ghn3_h32_l3', 'ghn2mode_h32', 'ppuda_ghn2_h32'] as const;
export type GhnFixtureConfig = (typeof GHN_FIXTURE_CONFIGS)[number];

export interface ManifestRun {
  config: GhnFixtureConfig;
  arch: string;
  status: string;
  graph?: string;
  error?: string;
}

export interface ParamStat {
  shape: number[];
  numel: number;
  sum: number;
  sumsq: number;
  min: number;
  max: number;
  predicted: boolean;
}

export interface RunJson {
  full_params_stored: boolean;
  param_stats: Record<string, ParamStat>;
  predicted: string[];
  not_predicted: string[];
  random_slices: Record<string, string>;
}

export function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturesDir('ghn', ...parts), 'utf8')) as T;
}

export function manifestRuns(): ManifestRun[] {
  return readJson<{ runs: ManifestRun[] }>('manifest.json').runs;
}

export function fixtureGraph(builder: string, arch: string): GhnGraph {
  return parseGhnGraphJson(readFileSync(fixturesDir('ghn', 'graphs', builder, `${arch}.json`), 'utf8'));
}

/** Every tensor of a safetensors file as a tf tensor (integers as int32). */
export async function readSafetensorsAsTf(path: string): Promise<Map<string, tf.Tensor>> {
  return withFileSource(path, async (source) => {
    const set = await readSafetensors(source);
    const out = new Map<string, tf.Tensor>();
    for (const t of set.tensors) {
      const bytes = (await readAll(t)).slice();
      const shape = [...t.shape];
      if (t.dtype === 'F32') out.set(t.name, tf.tensor(new Float32Array(bytes.buffer), shape, 'float32'));
      else if (t.dtype === 'I32') out.set(t.name, tf.tensor(new Int32Array(bytes.buffer), shape, 'int32'));
      else if (t.dtype === 'I64') {
        const v = new BigInt64Array(bytes.buffer);
        out.set(t.name, tf.tensor(Int32Array.from(v, (x) => Number(x)), shape, 'int32'));
      }
    }
    return out;
  });
}

export async function loadFixtureGhn(config: GhnFixtureConfig, withConfig = true): Promise<Ghn> {
  const tensors = await readSafetensorsAsTf(fixturesDir('ghn', 'ghn', `${config}.safetensors`));
  try {
    return loadGhn(tensors, withConfig ? readJson<unknown>('ghn', `${config}.json`) : undefined);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/**
 * True unless `error` is a number no larger than `bound`. NaN compares false with everything, so a
 * check written `error > bound` would let NaN (and so a NaN anywhere in a tensor) pass: every
 * comparison of a computed error goes through here.
 */
export function exceeds(error: number, bound: number): boolean {
  return !(error <= bound);
}

/** max|a − b| / max|b| over one tensor ("relative r" holds when this is ≤ r); NaN when a value is NaN. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  // Plain comparisons: Math.max/abs in hot loops run ~100x slower under Jest's module sandbox.
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    const m = b[i] < 0 ? -b[i] : b[i];
    if (d > diff || d !== d) diff = d;
    if (m > scale) scale = m;
  }
  return scale === 0 ? diff : diff / scale;
}

/** Throws, naming the tensor, unless `actual` is within relative `r` of `expected`. */
export function assertRelativeWithin(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, r: number): void {
  const error = relativeError(actual, expected);
  if (exceeds(error, r)) throw new Error(`${name}: relative error ${error} exceeds ${r}`);
}

/** The fixture's sampled flat indices ⌊j(n−1)/(K−1)⌋, K = min(n, 64). */
export function sampleIndices(numel: number, k = 64): number[] {
  const count = Math.min(numel, k);
  if (count <= 1) return [0];
  return Array.from({ length: count }, (_, j) => Math.floor((j * (numel - 1)) / (count - 1)));
}

export interface RunCheckInput {
  config: GhnFixtureConfig;
  arch: string;
  /** The run's safetensors (internals, full params or samples/<name>, random/<name>_row0). */
  expected: Map<string, tf.Tensor>;
  run: RunJson;
  params: Map<string, tf.Tensor>;
  internals?: Map<string, tf.Tensor>;
  notPredicted: string[];
  tolerance: number;
}

/** Largest |value| of a predicted tensor per its fixture stats: the scale of "relative r". */
function statScale(s: ParamStat): number {
  return Math.max(Math.abs(s.min), Math.abs(s.max));
}

/**
 * Compares one prediction with a fixture run; returns the problems found (empty when it agrees).
 * Full tensors and internals: relative r per tensor. Sampled tensors: the 64 samples, relative to the
 * tensor's max |value|. Every predicted tensor: sum within r·√(n·Σx²) (a bound on r·Σ|x|, since
 * sums cancel), Σx² within relative r, min/max within r·max|x|.
 */
export function checkAgainstRun(c: RunCheckInput): string[] {
  const problems: string[] = [];
  const r = c.tolerance;
  const predictedNames = new Set(c.params.keys());
  const want = new Set(c.run.predicted);
  for (const n of want) if (!predictedNames.has(n)) problems.push(`${n}: not predicted`);
  for (const n of predictedNames) if (!want.has(n)) problems.push(`${n}: predicted but the official code does not`);
  if ([...c.notPredicted].sort().join() !== [...c.run.not_predicted].sort().join()) {
    problems.push(`notPredicted ${JSON.stringify(c.notPredicted)} vs ${JSON.stringify(c.run.not_predicted)}`);
  }
  for (const [name, t] of c.expected) {
    const b = t.dataSync();
    if (name.startsWith('ghn/') || name.startsWith('dec/')) {
      const a = c.internals?.get(name);
      if (!a) problems.push(`${name}: internal missing`);
      else if (a.shape.join() !== t.shape.join()) problems.push(`${name}: shape [${a.shape}] vs [${t.shape}]`);
      else if (t.dtype === 'int32' ? a.dataSync().some((v, i) => v !== b[i]) : exceeds(relativeError(a.dataSync(), b), r)) {
        problems.push(`${name}: relative error ${relativeError(a.dataSync(), b).toExponential(2)}`);
      }
    } else if (name.startsWith('samples/')) {
      const pname = name.slice('samples/'.length);
      if (!want.has(pname)) continue; // default-initialised (e.g. class_token): not the GHN's output
      const a = c.params.get(pname);
      const stat = c.run.param_stats[pname];
      if (!a) continue;
      const av = a.dataSync();
      const diff = sampleIndices(av.length).reduce((m, i, j) => Math.max(m, Math.abs(av[i] - b[j])), 0);
      if (exceeds(diff, r * statScale(stat))) problems.push(`${name}: relative error ${(diff / statScale(stat)).toExponential(2)}`);
    } else if (want.has(name)) {
      const a = c.params.get(name);
      if (!a) continue;
      if (a.shape.join() !== t.shape.join()) problems.push(`${name}: shape [${a.shape}] vs [${t.shape}]`);
      else if (exceeds(relativeError(a.dataSync(), b), r)) problems.push(`${name}: relative error ${relativeError(a.dataSync(), b).toExponential(2)}`);
    }
  }
  for (const name of want) {
    const a = c.params.get(name);
    const s = c.run.param_stats[name];
    if (!a || !s) continue;
    if (a.shape.join() !== s.shape.join()) {
      problems.push(`${name}: shape [${a.shape}] vs [${s.shape}]`);
      continue;
    }
    const v = a.dataSync();
    let sum = 0;
    let sumsq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      sum += x;
      sumsq += x * x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const scale = statScale(s);
    if (exceeds(Math.abs(sum - s.sum), r * Math.sqrt(s.numel * s.sumsq))) problems.push(`${name}: sum ${sum} vs ${s.sum}`);
    if (exceeds(Math.abs(sumsq - s.sumsq), r * s.sumsq)) problems.push(`${name}: sum of squares ${sumsq} vs ${s.sumsq}`);
    if (exceeds(Math.abs(min - s.min), r * scale) || exceeds(Math.abs(max - s.max), r * scale)) problems.push(`${name}: range [${min}, ${max}] vs [${s.min}, ${s.max}]`);
  }
  return problems;
}

/** √Σx² over tensors (float64 accumulation), the manifest's total_param_norm for predicted ones. */
export function totalNorm(tensors: Iterable<tf.Tensor>): number {
  let ss = 0;
  for (const t of tensors) {
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  }
  return Math.sqrt(ss);
}

/** A GHN of the given config with N(0, 0.02²) weights (for timing and memory checks). */
export function randomGhnTensors(keys: Map<string, number[]>, seed = 0): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let k = seed;
  for (const [name, shape] of keys) out.set(name, tf.randomNormal(shape, 0, 0.02, 'float32', k++));
  return out;
}
