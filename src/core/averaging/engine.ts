import { CoreError } from '../errors';
import { readSafetensorsHeader, writeSafetensors, type SafetensorsTensorInfo, type SafetensorsWriteResult } from '../formats/safetensors';
import type { LazyTensor } from '../formats/tensor-set';
import type { RandomAccessSource } from '../io/random-access';
import { dtypeSize, numElements } from '../tensor/dtypes';
import { checkIngredientsCompatible, type IngredientHeader } from './compatibility';
import { isElementwise, mergeTensor } from './merge-math';
import { encodeFromFloat64, floatValues, isFloatDtype } from './numeric';
import { needsBase, resolveSoupParameters, type SoupMethod, type SoupParameters, type SoupParametersInput } from './parameters';

/** A safetensors ingredient: an open source (the caller closes it) and a label used in errors. */
export interface SoupSource {
  label: string;
  source: RandomAccessSource;
  /** The pre-trained checkpoint it descends from, when recorded: ingredients must agree. */
  lineage?: string | null;
}

export interface SoupRequest {
  method: SoupMethod;
  /** The models merged (not the base). */
  models: readonly SoupSource[];
  /** Required by every method but uniform and weighted (SLERP's x0, Model Stock's anchor). */
  base?: SoupSource;
  parameters?: SoupParametersInput;
  /**
   * Elements per slice for elementwise methods. Default: 64 MiB / (8 bytes × (inputs + 2)),
   * between 4 Ki and 1 Mi.
   */
  chunkElements?: number;
}

/** Memory the engine held at once, in bytes of tensor data (raw reads, float64 values, output). */
export interface SoupMemoryStats {
  peakHeldBytes: number;
  largestTensorBytes: number;
}

export interface SoupPlan {
  method: SoupMethod;
  parameters: SoupParameters;
  /** Output tensors in the reference ingredient's file order; bytes are computed when read. */
  tensors: LazyTensor[];
  metadata: Record<string, string>;
  stats: SoupMemoryStats;
}

/** The metadata key that records how a soup was made. */
export const SOUP_METADATA_KEY = 'weightsmith.soup';
const SLICE_BUDGET_BYTES = 64 * 1024 * 1024;
const MIN_SLICE = 4096;
const MAX_SLICE = 1 << 20;

interface Ingredient {
  label: string;
  source: RandomAccessSource;
  tensors: Map<string, SafetensorsTensorInfo>;
}

/**
 * Reads every header, checks that the ingredients can be merged and that the parameters are
 * valid, and returns lazy output tensors: nothing but headers is read until they are consumed.
 * Each output tensor reads its inputs when its bytes are requested, so memory is bounded by one
 * tensor per ingredient (by one slice per ingredient, 64 MiB in all by default, for uniform,
 * weighted and task arithmetic).
 * Float tensors are accumulated in float64 and rounded once to their dtype; integer and bool
 * tensors (e.g. num_batches_tracked) are copied from the reference ingredient: the base when the
 * method has one, else the first model.
 */
export async function planSoup(request: SoupRequest): Promise<SoupPlan> {
  const { method } = request;
  const parameters = resolveSoupParameters(method, request.models.length, request.base !== undefined, request.parameters);
  const headers: IngredientHeader[] = [];
  const ingredients: Ingredient[] = [];
  for (const s of [...(request.base ? [request.base] : []), ...request.models]) {
    const header = await readSafetensorsHeader(s.source);
    headers.push({ label: s.label, header, lineage: s.lineage });
    ingredients.push({ label: s.label, source: s.source, tensors: new Map(header.tensors.map((t) => [t.name, t])) });
  }
  checkIngredientsCompatible(headers[0], headers.slice(1));
  const reference = headers[0].header;
  const base = needsBase(method) ? ingredients[0] : null;
  const models = needsBase(method) ? ingredients.slice(1) : ingredients;
  if (method === 'ties') checkTrimLeavesEntries(reference.tensors, parameters);

  const chunkElements = request.chunkElements ?? Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.floor(SLICE_BUDGET_BYTES / ((ingredients.length + 2) * 8))));
  if (!Number.isSafeInteger(chunkElements) || chunkElements < 1) throw new CoreError('INVALID_ARGUMENT', `chunkElements must be a positive integer, got ${chunkElements}`);
  const stats: SoupMemoryStats = { peakHeldBytes: 0, largestTensorBytes: 0 };
  const context: MergeContext = { method, parameters, base, models, chunkElements, stats };
  const tensors = reference.tensors.map((info): LazyTensor => {
    stats.largestTensorBytes = Math.max(stats.largestTensorBytes, info.byteLength);
    return { name: info.name, dtype: info.dtype, shape: info.shape, chunks: () => mergedChunks(context, info) };
  });
  const metadata = { ...(reference.metadata ?? {}), [SOUP_METADATA_KEY]: JSON.stringify({ method, parameters }) };
  return { method, parameters, tensors, metadata, stats };
}

/** Plans a soup and streams it into `out` (a path is written atomically: a refused soup leaves no file). */
export async function writeSoup(request: SoupRequest, out: string | NodeJS.WritableStream): Promise<SafetensorsWriteResult & { plan: SoupPlan }> {
  const plan = await planSoup(request);
  const written = await writeSafetensors(out, plan.tensors, plan.metadata);
  return { ...written, plan };
}

/** TIES keeps ⌊density·n⌋ entries per task vector, which must be at least one (as in mergekit). */
function checkTrimLeavesEntries(tensors: readonly SafetensorsTensorInfo[], p: SoupParameters): void {
  const density = Math.min(...p.densities);
  if (density >= 1) return;
  for (const t of tensors) {
    const n = numElements(t.shape);
    if (isFloatDtype(t.dtype) && n > 0 && Math.floor(density * n) < 1) {
      throw new CoreError('SOUP_PARAMETERS_INVALID', `density ${density} keeps no entry of ${t.name} (${n} entries): raise the density`, { tensor: t.name, entries: n, density });
    }
  }
}

interface MergeContext {
  method: SoupMethod;
  parameters: SoupParameters;
  base: Ingredient | null;
  models: Ingredient[];
  chunkElements: number;
  stats: SoupMemoryStats;
}

function tensorOf(ingredient: Ingredient, name: string): SafetensorsTensorInfo {
  const info = ingredient.tensors.get(name);
  if (!info) throw new Error(`${ingredient.label} lost tensor ${name}`);
  return info;
}

async function* mergedChunks(c: MergeContext, info: SafetensorsTensorInfo): AsyncGenerator<Uint8Array> {
  const n = numElements(info.shape);
  if (n === 0) return;
  const reference = c.base ?? c.models[0];
  if (!isFloatDtype(info.dtype)) {
    const ref = tensorOf(reference, info.name);
    yield await reference.source.read(ref.byteOffset, ref.byteLength);
    return;
  }
  const size = dtypeSize(info.dtype);
  const slice = isElementwise(c.method) ? c.chunkElements : n;
  for (let start = 0; start < n; start += slice) {
    const count = Math.min(slice, n - start);
    const read = (ingredient: Ingredient): Promise<Uint8Array> => ingredient.source.read(tensorOf(ingredient, info.name).byteOffset + start * size, count * size);
    const [baseBytes, ...modelBytes] = await Promise.all([c.base ? read(c.base) : Promise.resolve(null), ...c.models.map(read)]);
    // Exact values, viewed in place where the bytes allow: merges read them as float64 numbers.
    const base = baseBytes ? floatValues(baseBytes, info.dtype) : null;
    const models = modelBytes.map((b) => floatValues(b, info.dtype));
    const merged = mergeTensor(c.method, c.parameters, { name: info.name, shape: info.shape, base, models });
    const encoded = encodeFromFloat64(merged, info.dtype);
    // Raw reads (and 16-bit floats' decoded copies), task vectors, the result and its encoding are all alive here.
    const inputs = models.length + (base ? 1 : 0);
    const taskVectors = isElementwise(c.method) ? 0 : models.length * count * 8;
    const held = inputs * count * (size < 4 ? size + 4 : size) + taskVectors + count * 8 + encoded.byteLength;
    c.stats.peakHeldBytes = Math.max(c.stats.peakHeldBytes, held);
    yield encoded;
  }
}
