import type { SoupMethod, SoupParameters } from './parameters';
import { breadcrumbs, dropAndRescale, trimByMagnitude } from './sparsify';

/** Exact values of a tensor (float64, or float32 views of the stored bytes). */
export type Values = Float64Array | Float32Array;

/** One tensor's values from every ingredient (the base apart, when the method has one). */
export interface TensorValues {
  name: string;
  shape: readonly number[];
  base: Values | null;
  models: readonly Values[];
}

/** Below these, a divisor counts as zero (mergekit's thresholds). */
const DIVISOR_EPSILON = 1e-8;
const NORM_EPSILON = 1e-8;
const SLERP_PARALLEL = 0.9995;
const STOCK_NORM_FLOOR = 1e-6;

/** Methods whose result at an entry depends only on that entry: they can run on slices of a tensor. */
export function isElementwise(method: SoupMethod): boolean {
  return method === 'uniform' || method === 'weighted' || method === 'task-arithmetic';
}

/** Merges one tensor. Inputs are not modified. Float64 throughout; the caller rounds once. */
export function mergeTensor(method: SoupMethod, p: SoupParameters, v: TensorValues): Float64Array {
  switch (method) {
    case 'uniform':
      return uniformMean(v.models);
    case 'weighted':
      return weightedSum(v.models, p.weights);
    case 'slerp':
      return slerp(requireBase(v), v.models[0], p.t as number);
    case 'model-stock':
      return modelStock(requireBase(v), v.models, p.filterWise, v.shape);
    case 'task-arithmetic':
      return taskArithmetic(requireBase(v), v.models, p);
    default:
      return taskVectorMerge(method, p, v);
  }
}

function requireBase(v: TensorValues): Values {
  if (!v.base) throw new Error(`tensor ${v.name}: the method needs the base's values`);
  return v.base;
}

/** Σ x_i / N: the sum of N copies of a float32 value is exact in float64, so identical inputs come back bit for bit. */
export function uniformMean(models: readonly Values[]): Float64Array {
  const out = new Float64Array(models[0].length);
  for (const x of models) for (let j = 0; j < out.length; j++) out[j] += x[j];
  const n = models.length;
  for (let j = 0; j < out.length; j++) out[j] /= n;
  return out;
}

export function weightedSum(models: readonly Values[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(models[0].length);
  models.forEach((x, i) => {
    const w = weights[i];
    for (let j = 0; j < out.length; j++) out[j] += w * x[j];
  });
  return out;
}

/**
 * base + λ·Σ w_i (x_i − base), divided by Σ w_i with `normalize`: the same operations, in the same
 * order, as the general task-vector path without sparsification, but with no per-model copies.
 */
function taskArithmetic(base: Values, models: readonly Values[], p: SoupParameters): Float64Array {
  const n = base.length;
  const mixed = new Float64Array(n);
  models.forEach((x, i) => {
    const w = p.weights[i];
    for (let j = 0; j < n; j++) mixed[j] += (x[j] - base[j]) * w;
  });
  const weightSum = p.weights.reduce((a, b) => a + b, 0);
  const divisor = p.normalize && Math.abs(weightSum) >= DIVISOR_EPSILON ? weightSum : 1;
  for (let j = 0; j < n; j++) mixed[j] = base[j] + p.lambda * (mixed[j] / divisor);
  return mixed;
}

const SIGN_ELECTION: readonly SoupMethod[] = ['ties', 'dare-ties', 'breadcrumbs-ties'];

/** Task arithmetic, TIES, DARE and breadcrumbs: sparsify each task vector, weight, (elect signs,) combine, scale, add to the base. */
function taskVectorMerge(method: SoupMethod, p: SoupParameters, v: TensorValues): Float64Array {
  const base = requireBase(v);
  const n = base.length;
  const weighted = v.models.map((x, i) => {
    const delta = new Float64Array(n);
    for (let j = 0; j < n; j++) delta[j] = x[j] - base[j];
    const density = p.densities[i] ?? 1;
    if (method === 'ties') trimByMagnitude(delta, density, p.rescale);
    else if (method === 'dare-linear' || method === 'dare-ties') dropAndRescale(delta, density, p.rescale, p.seed, `dare:${i}:${v.name}`);
    else if (method === 'breadcrumbs' || method === 'breadcrumbs-ties') breadcrumbs(delta, density, p.gamma, p.rescale);
    const w = p.weights[i];
    for (let j = 0; j < n; j++) delta[j] *= w;
    return delta;
  });
  const out = new Float64Array(n);
  const elect = SIGN_ELECTION.includes(method);
  const weightSum = p.weights.reduce((a, b) => a + b, 0);
  for (let j = 0; j < n; j++) {
    let mixed = 0;
    let divisor = 0;
    if (elect) {
      let total = 0;
      for (const d of weighted) total += d[j];
      // A zero sum elects the positive sign; a zero entry (trimmed or dropped) never matches.
      const majority = total >= 0 ? 1 : -1;
      weighted.forEach((d, i) => {
        if (Math.sign(d[j]) === majority) {
          mixed += d[j];
          divisor += p.weights[i];
        }
      });
    } else {
      for (const d of weighted) mixed += d[j];
      divisor = weightSum;
    }
    if (p.normalize) mixed /= Math.abs(divisor) < DIVISOR_EPSILON ? 1 : divisor;
    out[j] = base[j] + p.lambda * mixed;
  }
  return out;
}

function norm(x: Values): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) s += x[j] * x[j];
  return Math.sqrt(s);
}

/** Spherical interpolation from x0 (t = 0) to x1 (t = 1); near-parallel tensors fall back to lerp. */
export function slerp(x0: Values, x1: Values, t: number): Float64Array {
  const n0 = norm(x0);
  const n1 = norm(x1);
  const s0 = n0 > NORM_EPSILON ? 1 / n0 : 1;
  const s1 = n1 > NORM_EPSILON ? 1 / n1 : 1;
  let dot = 0;
  for (let j = 0; j < x0.length; j++) dot += x0[j] * s0 * (x1[j] * s1);
  const out = new Float64Array(x0.length);
  let a: number;
  let b: number;
  if (Math.abs(dot) > SLERP_PARALLEL) {
    a = 1 - t;
    b = t;
  } else {
    const theta0 = Math.acos(dot);
    const sinTheta0 = Math.sin(theta0);
    const thetaT = theta0 * t;
    a = Math.sin(theta0 - thetaT) / sinTheta0;
    b = Math.sin(thetaT) / sinTheta0;
  }
  for (let j = 0; j < out.length; j++) out[j] = a * x0[j] + b * x1[j];
  return out;
}

/**
 * Model Stock: t = N·cos θ / (1 + (N − 1)·cos θ), with cos θ the mean pairwise cosine of the
 * models' offsets from the base; result t·mean(x_i) + (1 − t)·base. With `filterWise`, one t per
 * output row (the first dimension). A vanishing denominator (cos θ = −1/(N − 1)) gives t = 0.
 */
export function modelStock(base: Values, models: readonly Values[], filterWise: boolean, shape: readonly number[]): Float64Array {
  const n = base.length;
  const rows = filterWise && shape.length > 1 ? shape[0] : 1;
  const width = rows > 0 ? n / rows : 0;
  const mean = uniformMean(models);
  const out = new Float64Array(n);
  const count = models.length;
  for (let r = 0; r < rows; r++) {
    const from = r * width;
    const to = from + width;
    let cosSum = 0;
    let pairs = 0;
    for (let a = 0; a < count; a++) {
      for (let b = a + 1; b < count; b++) {
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let j = from; j < to; j++) {
          const da = models[a][j] - base[j];
          const db = models[b][j] - base[j];
          dot += da * db;
          na += da * da;
          nb += db * db;
        }
        const cos = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), STOCK_NORM_FLOOR);
        cosSum += Math.min(1, Math.max(-1, cos));
        pairs++;
      }
    }
    const cos = cosSum / pairs;
    const denominator = 1 + (count - 1) * cos;
    const t = Math.abs(denominator) < 1e-12 ? 0 : (count * cos) / denominator;
    for (let j = from; j < to; j++) out[j] = t * mean[j] + (1 - t) * base[j];
  }
  return out;
}
