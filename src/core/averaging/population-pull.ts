import { CoreError } from '../errors';
import { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from '../formats/safetensors';
import type { LazyTensor } from '../formats/tensor-set';
import { dtypeSize, numElements, type Dtype } from '../tensor/dtypes';
import type { SoupSource } from './engine';
import { encodeFromFloat64, floatValues, isFloatDtype } from './numeric';
import { papa2Pairs } from './papa';

/**
 * PAPA for members trained elsewhere: one member's pull computed from a snapshot of the
 * population's latest weights, streamed tensor by tensor (slices of a tensor for large ones) from
 * random-access sources, accumulated in float64 and rounded once to each tensor's dtype. The
 * arithmetic follows `papa.ts` operation for operation, so a pull equals `papaPull`, `papaAll` or
 * `papa2` applied to the same states, bit for bit.
 */

export const POPULATION_VARIANTS = ['papa', 'papa-all', 'papa-2'] as const;
export type PopulationVariant = (typeof POPULATION_VARIANTS)[number];

/** One tensor's name, dtype and shape: what every member of a population must share. */
export interface TensorLayoutEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** How member `self` of the snapshot is updated. */
export type PullRule =
  /** θ ← α·θ + (1 − α)·mean (PAPA). */
  | { variant: 'papa'; alpha: number }
  /** θ ← mean (PAPA-all). */
  | { variant: 'papa-all' }
  /** θ ← ½·θ_a + ½·θ_b for the pair (a, b) of snapshot indices (PAPA-2). */
  | { variant: 'papa-2'; pair: readonly [number, number] }
  /** θ unchanged (a push whose step is not a pull step, or a population of one). */
  | { variant: 'none' };

export interface PopulationPullRequest {
  /** The snapshot's members, in member order (the mean accumulates in this order). */
  members: readonly SoupSource[];
  /** Index in `members` of the member whose pulled weights are computed; null for the plain mean. */
  self: number | null;
  rule: PullRule;
  chunkElements?: number;
}

export interface PopulationPullPlan {
  tensors: LazyTensor[];
  metadata: Record<string, string> | undefined;
}

const SLICE_BUDGET_BYTES = 64 * 1024 * 1024;

/** The layout of a safetensors header, sorted by tensor name. */
export function tensorLayout(header: SafetensorsHeader): TensorLayoutEntry[] {
  return header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What differs between two layouts (at most `limit` lines); empty when they match. */
export function layoutDifferences(expected: readonly TensorLayoutEntry[], actual: readonly TensorLayoutEntry[], limit = 10): string[] {
  const out: string[] = [];
  const theirs = new Map(actual.map((t) => [t.name, t]));
  const ours = new Set(expected.map((t) => t.name));
  for (const t of expected) {
    const other = theirs.get(t.name);
    if (!other) out.push(`${t.name}: missing`);
    else if (other.dtype !== t.dtype) out.push(`${t.name}: dtype ${other.dtype}, expected ${t.dtype}`);
    else if (other.shape.join(',') !== t.shape.join(',')) out.push(`${t.name}: shape [${other.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
  }
  for (const t of actual) if (!ours.has(t.name)) out.push(`${t.name}: not in the population's layout`);
  return out.slice(0, limit);
}

/**
 * The rule of one push: PAPA (α = 1 or a lone member leave the weights as they are), PAPA-all,
 * or PAPA-2 with pair `self` of `papa2Pairs(count, seed, step)`, so that members pushing the same
 * step agree on the pairs. A push whose step is not a multiple of `every` is not pulled.
 */
export function pullRule(variant: PopulationVariant, p: { alpha: number | null; every: number; seed: number; step: number; count: number; self: number }): PullRule {
  if (p.step % p.every !== 0 || p.count < 2) return { variant: 'none' };
  if (variant === 'papa') {
    const alpha = p.alpha ?? 1;
    return alpha === 1 ? { variant: 'none' } : { variant: 'papa', alpha };
  }
  if (variant === 'papa-all') return { variant: 'papa-all' };
  return { variant: 'papa-2', pair: papa2Pairs(p.count, p.seed, p.step)[p.self] };
}

/**
 * Reads every header, checks that the members share one layout and returns lazy output tensors in
 * the reference member's file order (`self`, else the first) with its metadata. Integer and bool
 * tensors are the reference member's.
 */
export async function planPopulationPull(request: PopulationPullRequest): Promise<PopulationPullPlan> {
  const { members, self, rule } = request;
  if (members.length === 0) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'the snapshot has no member');
  if (self !== null && (self < 0 || self >= members.length)) throw new CoreError('INVALID_ARGUMENT', `member index ${self} is outside the snapshot`);
  if (rule.variant === 'papa' && (!Number.isFinite(rule.alpha) || rule.alpha < 0 || rule.alpha > 1)) {
    throw new CoreError('SOUP_PARAMETERS_INVALID', `alpha must be in [0, 1], got ${rule.alpha}`);
  }
  if (rule.variant === 'papa-2' && rule.pair.some((i) => i < 0 || i >= members.length)) throw new CoreError('SOUP_PARAMETERS_INVALID', 'a PAPA-2 pair is outside the snapshot');
  const headers = await Promise.all(members.map((m) => readSafetensorsHeader(m.source)));
  const reference = self ?? 0;
  const layout = tensorLayout(headers[reference]);
  headers.forEach((h, j) => {
    const differences = layoutDifferences(layout, tensorLayout(h));
    if (differences.length > 0) throw new CoreError('SOUP_INGREDIENTS_INCOMPATIBLE', `${members[j].label} differs from ${members[reference].label}`, { differences });
  });
  const maps = headers.map((h) => new Map(h.tensors.map((t) => [t.name, t])));
  const chunkElements = request.chunkElements ?? Math.max(4096, Math.min(1 << 20, Math.floor(SLICE_BUDGET_BYTES / ((members.length + 2) * 8))));
  const context: PullContext = { members, maps, self: reference, rule: self === null ? { variant: 'papa-all' } : rule, chunkElements };
  const tensors = headers[reference].tensors.map(
    (info): LazyTensor => ({ name: info.name, dtype: info.dtype, shape: info.shape, chunks: () => pulledChunks(context, info) }),
  );
  return { tensors, metadata: headers[reference].metadata ?? undefined };
}

interface PullContext {
  members: readonly SoupSource[];
  maps: Map<string, SafetensorsTensorInfo>[];
  self: number;
  rule: PullRule;
  chunkElements: number;
}

async function* pulledChunks(c: PullContext, info: SafetensorsTensorInfo): AsyncGenerator<Uint8Array> {
  const n = numElements(info.shape);
  if (n === 0) return;
  const read = (j: number, start: number, count: number): Promise<Uint8Array> => {
    const t = c.maps[j].get(info.name)!;
    const size = dtypeSize(t.dtype);
    return c.members[j].source.read(t.byteOffset + start * size, count * size);
  };
  if (!isFloatDtype(info.dtype) || c.rule.variant === 'none') {
    // Copied as they are, in bounded reads.
    const size = dtypeSize(info.dtype);
    const step = Math.max(1, Math.floor(SLICE_BUDGET_BYTES / 4 / size));
    for (let start = 0; start < n; start += step) yield await read(c.self, start, Math.min(step, n - start));
    return;
  }
  const rule = c.rule;
  const needed = rule.variant === 'papa-2' ? [...new Set(rule.pair)] : c.members.map((_, j) => j);
  for (let start = 0; start < n; start += c.chunkElements) {
    const count = Math.min(c.chunkElements, n - start);
    const bytes = await Promise.all(needed.map((j) => read(j, start, count)));
    const values = new Map(needed.map((j, i) => [j, floatValues(bytes[i], info.dtype)]));
    yield encodeFromFloat64(pullSlice(rule, values, c.self, count), info.dtype);
  }
}

/** One slice of the pulled values, with papa.ts's operations in its order. */
function pullSlice(rule: Exclude<PullRule, { variant: 'none' }>, values: Map<number, Float32Array | Float64Array>, self: number, count: number): Float64Array {
  const out = new Float64Array(count);
  if (rule.variant === 'papa-2') {
    const x = values.get(rule.pair[0])!;
    const y = values.get(rule.pair[1])!;
    for (let i = 0; i < count; i++) out[i] = 0.5 * x[i] + 0.5 * y[i];
    return out;
  }
  for (const v of values.values()) for (let i = 0; i < count; i++) out[i] += v[i];
  for (let i = 0; i < count; i++) out[i] /= values.size;
  if (rule.variant === 'papa') {
    const own = values.get(self)!;
    const { alpha } = rule;
    for (let i = 0; i < count; i++) out[i] = alpha * own[i] + (1 - alpha) * out[i];
  }
  return out;
}
