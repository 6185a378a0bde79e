import { CoreError } from '../errors';
import { randomStream } from '../init/seeded-random';
import type { NamedArrays } from './batchnorm';

/**
 * PAPA (population parameter averaging) as pure functions over the members' states. Float arrays
 * (weights and BatchNorm statistics) are averaged; integer buffers are left as they are, and
 * optimizer state is not part of a member's state here.
 */

type FloatArray = Float32Array | Float64Array;

function isFloat(a: NamedArrays[string]): a is FloatArray {
  return a instanceof Float32Array || a instanceof Float64Array;
}

function checkPopulation(members: readonly NamedArrays[]): string[] {
  if (members.length === 0) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a population needs at least one member');
  const names = Object.keys(members[0]).filter((k) => isFloat(members[0][k]));
  for (const [j, m] of members.entries()) {
    for (const k of names) {
      const a = m[k];
      if (!a || !isFloat(a) || a.length !== members[0][k].length) {
        throw new CoreError('SOUP_INGREDIENTS_INCOMPATIBLE', `member ${j}: ${k} is missing or has another size`, { member: j, tensor: k });
      }
    }
  }
  return names;
}

/** The population mean of every float tensor, in float64. */
export function populationMean(members: readonly NamedArrays[]): Record<string, Float64Array> {
  const names = checkPopulation(members);
  const out: Record<string, Float64Array> = {};
  for (const k of names) {
    const sum = new Float64Array(members[0][k].length);
    for (const m of members) {
      const a = m[k] as FloatArray;
      for (let i = 0; i < sum.length; i++) sum[i] += a[i];
    }
    for (let i = 0; i < sum.length; i++) sum[i] /= members.length;
    out[k] = sum;
  }
  return out;
}

/**
 * One PAPA pull, in place: θ_j ← α·θ_j + (1 − α)·θ̄ for every member and float tensor. It keeps
 * the population mean and shrinks every pairwise difference by exactly α. α = 1 or a single
 * member leaves the states untouched (bit for bit).
 */
export function papaPull(members: NamedArrays[], alpha: number): void {
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) throw new CoreError('SOUP_PARAMETERS_INVALID', `alpha must be in [0, 1], got ${alpha}`);
  if (alpha === 1 || members.length === 1) return;
  const mean = populationMean(members);
  for (const m of members) {
    for (const [k, avg] of Object.entries(mean)) {
      const a = m[k] as FloatArray;
      for (let i = 0; i < a.length; i++) a[i] = alpha * a[i] + (1 - alpha) * avg[i];
    }
  }
}

/** The pull strength at the current learning rate under linear coupling: 1 − α_eff = (lr_t / lr_0)(1 − α). */
export function effectiveAlpha(alpha: number, lrRatio: number): number {
  return 1 - lrRatio * (1 - alpha);
}

/** The equivalent per-step pull of α applied every T steps: 1 − α^(1/T). */
export function perStepPull(alpha: number, every: number): number {
  return 1 - alpha ** (1 / every);
}

/** Whether a pull follows the optimizer step with this within-epoch index (i mod T = 0, from 0). */
export function papaPullDue(stepInEpoch: number, every: number): boolean {
  return stepInEpoch % every === 0;
}

/** Whether PAPA-all / PAPA-2 merge at the end of `epoch` (0-based): e mod K = 0, never at the last epoch. */
export function papaMergeDue(epoch: number, every: number, epochs: number): boolean {
  return epoch % every === 0 && epoch !== epochs - 1;
}

/** PAPA-all, in place: every member becomes the population average (REPAIR may follow). */
export function papaAll(members: NamedArrays[]): void {
  const mean = populationMean(members);
  for (const m of members) {
    for (const [k, avg] of Object.entries(mean)) {
      const a = m[k] as FloatArray;
      for (let i = 0; i < a.length; i++) a[i] = avg[i];
    }
  }
}

/**
 * PAPA-2's pairs: p random pairs of distinct members drawn from `seed` (each member is in about
 * two pairs on average), not the first p pairs of a lexicographic list.
 */
export function papa2Pairs(p: number, seed: number, round = 0): [number, number][] {
  if (!Number.isSafeInteger(p) || p < 2) throw new CoreError('SOUP_PARAMETERS_INVALID', `PAPA-2 needs at least two members, got ${p}`);
  const random = randomStream(seed, `papa2:${round}`);
  const pairs: [number, number][] = [];
  for (let j = 0; j < p; j++) {
    const a = Math.floor(random.uniform() * p);
    let b = Math.floor(random.uniform() * (p - 1));
    if (b >= a) b++;
    pairs.push([a, b]);
  }
  return pairs;
}

/** PAPA-2, in place: member j becomes the 50/50 average of the members of pair j (taken before any change). */
export function papa2(members: NamedArrays[], pairs: readonly [number, number][]): void {
  const names = checkPopulation(members);
  if (pairs.length !== members.length) throw new CoreError('SOUP_PARAMETERS_INVALID', `${pairs.length} pairs for ${members.length} members`);
  const next = pairs.map(([a, b]) => {
    const out: Record<string, Float64Array> = {};
    for (const k of names) {
      const x = members[a][k] as FloatArray;
      const y = members[b][k] as FloatArray;
      out[k] = Float64Array.from(x, (v, i) => 0.5 * v + 0.5 * y[i]);
    }
    return out;
  });
  members.forEach((m, j) => {
    for (const k of names) (m[k] as FloatArray).set(next[j][k]);
  });
}

/** One entry of PAPA's regularization grid. */
export interface RegularizationSetting {
  mixup: number;
  labelSmoothing: number;
  cutmix: number;
  randomErase: number;
}

export const PAPA_GRID = {
  mixup: [0, 0.5, 1],
  labelSmoothing: [0, 0.05, 0.1],
  cutmix: [0, 0.5, 1],
  randomErase: [0, 0.15, 0.35],
} as const;

/** The 81 settings of the grid, shuffled once from `seed` (Fisher–Yates). */
export function regularizationGrid(seed: number): RegularizationSetting[] {
  const grid: RegularizationSetting[] = [];
  for (const mixup of PAPA_GRID.mixup)
    for (const labelSmoothing of PAPA_GRID.labelSmoothing)
      for (const cutmix of PAPA_GRID.cutmix) for (const randomErase of PAPA_GRID.randomErase) grid.push({ mixup, labelSmoothing, cutmix, randomErase });
  const random = randomStream(seed, 'papa-grid');
  for (let i = grid.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [grid[i], grid[j]] = [grid[j], grid[i]];
  }
  return grid;
}

/** Member j's setting: entry j mod 81 of the seeded shuffle. */
export function memberRegularization(member: number, seed: number): RegularizationSetting {
  const grid = regularizationGrid(seed);
  return grid[member % grid.length];
}

/** The summary line of a population run: member accuracy mean/min/max next to ensemble and soups. */
export function summarizePopulation(scores: { members: readonly number[]; ensemble: number; avgSoup: number; greedySoup: number | null }): {
  memberMean: number;
  memberMin: number;
  memberMax: number;
  ensemble: number;
  avgSoup: number;
  greedySoup: number | null;
} {
  if (scores.members.length === 0) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a population needs at least one member');
  return {
    memberMean: scores.members.reduce((a, b) => a + b, 0) / scores.members.length,
    memberMin: Math.min(...scores.members),
    memberMax: Math.max(...scores.members),
    ensemble: scores.ensemble,
    avgSoup: scores.avgSoup,
    greedySoup: scores.greedySoup,
  };
}
