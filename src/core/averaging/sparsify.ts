import { randomStream } from '../init/seeded-random';

/** Below this L1 norm a sparsified task vector is not rescaled (nothing meaningful to keep). */
export const RESCALE_EPSILON = 1e-7;

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Marks the entries whose magnitude rank lies in [lo, hi). Ranks go by |value| ascending; among
 * equal magnitudes the lower index ranks higher (so it survives a top-k first). Uses one native
 * sort of the magnitudes, not a comparator sort, so million-entry tensors take milliseconds.
 */
export function magnitudeRankMask(values: Float64Array, lo: number, hi: number): Uint8Array {
  const n = values.length;
  const mask = new Uint8Array(n);
  if (lo >= hi) return mask;
  const abs = new Float64Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(values[i]);
  const sorted = abs.slice().sort();
  const vLo = sorted[lo];
  const vHi = sorted[hi - 1];
  const tieBase = new Map<number, number>();
  const tieSeen = new Map<number, number>();
  for (let i = n - 1; i >= 0; i--) {
    const a = abs[i];
    if (a < vLo || a > vHi) continue;
    if (a > vLo && a < vHi) {
      mask[i] = 1;
      continue;
    }
    let base = tieBase.get(a);
    if (base === undefined) tieBase.set(a, (base = lowerBound(sorted, a)));
    const seen = tieSeen.get(a) ?? 0;
    tieSeen.set(a, seen + 1);
    const rank = base + seen;
    if (rank >= lo && rank < hi) mask[i] = 1;
  }
  return mask;
}

function l1(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.abs(values[i]);
  return s;
}

/** Zeroes the unmasked entries; with `rescale`, restores the original L1 norm (unless either norm is tiny). */
function applyMask(delta: Float64Array, mask: Uint8Array, rescale: boolean): void {
  const before = rescale ? l1(delta) : 0;
  for (let i = 0; i < delta.length; i++) if (!mask[i]) delta[i] = 0;
  if (!rescale) return;
  const after = l1(delta);
  if (before < RESCALE_EPSILON || after < RESCALE_EPSILON) return;
  const factor = before / after;
  for (let i = 0; i < delta.length; i++) delta[i] *= factor;
}

/** TIES trim: the ⌊density·n⌋ largest magnitudes survive (k ≥ 1 is checked when planning). */
export function trimByMagnitude(delta: Float64Array, density: number, rescale: boolean): void {
  if (density >= 1) return;
  const n = delta.length;
  const k = Math.floor(density * n);
  applyMask(delta, magnitudeRankMask(delta, n - k, n), rescale);
}

/** How many entries breadcrumbs removes from the bottom and from the top of a tensor of n entries. */
export function breadcrumbsCounts(n: number, density: number, gamma: number): { bottom: number; top: number } {
  if (density >= 1) return { bottom: 0, top: 0 };
  const removed = n - Math.floor(density * n);
  const top = Math.min(Math.floor(gamma * n), removed);
  return { bottom: removed - top, top };
}

/**
 * Model Breadcrumbs: removes the ⌊γ·n⌋ largest magnitudes and enough of the smallest to keep
 * ⌊density·n⌋ entries. Unlike mergekit, a tensor with ⌊γ·n⌋ = 0 keeps its largest entries
 * instead of losing its whole delta.
 */
export function breadcrumbs(delta: Float64Array, density: number, gamma: number, rescale: boolean): void {
  const { bottom, top } = breadcrumbsCounts(delta.length, density, gamma);
  if (bottom === 0 && top === 0) return;
  applyMask(delta, magnitudeRankMask(delta, bottom, delta.length - top), rescale);
}

/**
 * DARE: drops each entry independently with probability 1 − density, from a stream seeded by
 * (seed, stream name), then (with `rescale`) restores the task vector's L1 norm.
 */
export function dropAndRescale(delta: Float64Array, density: number, rescale: boolean, seed: number, streamName: string): void {
  if (density >= 1) return;
  const random = randomStream(seed, streamName);
  const mask = new Uint8Array(delta.length);
  for (let i = 0; i < delta.length; i++) mask[i] = random.uniform() < density ? 1 : 0;
  applyMask(delta, mask, rescale);
}
