import { CoreError } from '../errors';
import { MAX_SEED } from '../init/seeded-random';

/** Every soup and merge method; `breadcrumbs-ties` is reachable from recipes and the API only. */
export const SOUP_METHODS = [
  'uniform',
  'weighted',
  'task-arithmetic',
  'ties',
  'dare-linear',
  'dare-ties',
  'breadcrumbs',
  'breadcrumbs-ties',
  'slerp',
  'model-stock',
] as const;
export type SoupMethod = (typeof SOUP_METHODS)[number];

export function isSoupMethod(value: unknown): value is SoupMethod {
  return typeof value === 'string' && (SOUP_METHODS as readonly string[]).includes(value);
}

/** Methods that combine task vectors (model − base) with per-model weights and densities. */
const TASK_VECTOR_METHODS: readonly SoupMethod[] = ['task-arithmetic', 'ties', 'dare-linear', 'dare-ties', 'breadcrumbs', 'breadcrumbs-ties'];

export function needsBase(method: SoupMethod): boolean {
  return method !== 'uniform' && method !== 'weighted';
}

/** What a caller may set (mergekit's parameter names, camel-cased); unset ones take the method's default. */
export interface SoupParametersInput {
  /** Per model (not the base). weighted: required, ≥ 0, summing to 1; task-vector methods: default 1 each. */
  weights?: readonly number[];
  /** One density for every model, in (0, 1]; `densities` sets them per model. Default 1. */
  density?: number;
  densities?: readonly number[];
  /** Scale of the merged task vector (default 1). */
  lambda?: number;
  /** Divide the merged task vector by the weights' sum (default: on for ties, off otherwise). */
  normalize?: boolean;
  /** Keep each sparsified task vector's L1 norm (default: on for DARE, off otherwise). */
  rescale?: boolean;
  /** Breadcrumbs: fraction of the largest magnitudes removed (default 0.01). */
  gamma?: number;
  /** SLERP: interpolation factor in [0, 1], from the base (0) to the other model (1). No default. */
  t?: number;
  /** DARE: seed of the drop masks (default 0). */
  seed?: number;
  /** Model Stock: one interpolation ratio per output row instead of per tensor (default off). */
  filterWise?: boolean;
}

/** Parameters after defaults and validation, as recorded with a soup. */
export interface SoupParameters {
  weights: number[];
  densities: number[];
  lambda: number;
  normalize: boolean;
  rescale: boolean;
  gamma: number;
  t: number | null;
  seed: number;
  filterWise: boolean;
}

const APPLICABLE: Record<SoupMethod, readonly (keyof SoupParametersInput)[]> = {
  uniform: [],
  weighted: ['weights', 'normalize'],
  'task-arithmetic': ['weights', 'lambda', 'normalize'],
  ties: ['weights', 'density', 'densities', 'lambda', 'normalize', 'rescale'],
  'dare-linear': ['weights', 'density', 'densities', 'lambda', 'normalize', 'rescale', 'seed'],
  'dare-ties': ['weights', 'density', 'densities', 'lambda', 'normalize', 'rescale', 'seed'],
  breadcrumbs: ['weights', 'density', 'densities', 'gamma', 'lambda', 'normalize', 'rescale'],
  'breadcrumbs-ties': ['weights', 'density', 'densities', 'gamma', 'lambda', 'normalize', 'rescale'],
  slerp: ['t'],
  'model-stock': ['filterWise'],
};

/** Tolerance on the sum of `weighted` weights. */
export const WEIGHT_SUM_TOLERANCE = 1e-6;

function invalid(message: string, details: Record<string, unknown>): CoreError {
  return new CoreError('SOUP_PARAMETERS_INVALID', message, details);
}

function finite(name: string, value: number | undefined, check: (v: number) => boolean, range: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw invalid(`${name} must be ${range}, got ${String(value)}`, { [name]: value });
  return value;
}

/**
 * Applies the method's defaults and validates everything: SOUP_INGREDIENTS_EMPTY without models,
 * SOUP_WEIGHTS_INVALID for `weighted` weights that are negative or do not sum to 1,
 * SOUP_PARAMETERS_INVALID otherwise (a parameter the method does not use, a missing base, ...).
 * `models` counts the ingredients other than the base.
 */
export function resolveSoupParameters(method: SoupMethod, models: number, hasBase: boolean, input: SoupParametersInput = {}): SoupParameters {
  if (!isSoupMethod(method)) throw invalid(`unknown soup method ${String(method)}`, { method });
  if (models < 1) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a soup needs at least one ingredient', { method });
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && !APPLICABLE[method].includes(key as keyof SoupParametersInput)) {
      throw invalid(`${method} takes no ${key} parameter (it takes ${APPLICABLE[method].join(', ') || 'none'})`, { method, parameter: key });
    }
  }
  if (needsBase(method) && !hasBase) throw invalid(`${method} needs a base model`, { method });
  if (!needsBase(method) && hasBase) throw invalid(`${method} takes no base model`, { method });
  if (method === 'slerp' && models !== 1) throw invalid(`slerp merges the base with exactly one other model, got ${models}`, { method, models });
  if (method === 'model-stock' && models < 2) throw invalid(`model-stock needs the base and at least two models, got ${models}`, { method, models });

  const weights = resolveWeights(method, models, input);
  const densities = resolveDensities(models, input);
  const t = finite('t', input.t, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  if (method === 'slerp' && t === undefined) throw invalid('slerp needs t (no default)', { method });
  const seed = finite('seed', input.seed, (v) => Number.isSafeInteger(v) && v >= 0 && v <= MAX_SEED, 'an integer in [0, 2^53 − 1]');
  return {
    weights,
    densities,
    lambda: finite('lambda', input.lambda, () => true, 'a finite number') ?? 1,
    normalize: input.normalize ?? method === 'ties',
    rescale: input.rescale ?? (method === 'dare-linear' || method === 'dare-ties'),
    gamma: finite('gamma', input.gamma, (v) => v >= 0 && v < 1, 'in [0, 1)') ?? 0.01,
    t: t ?? null,
    seed: seed ?? 0,
    filterWise: input.filterWise ?? false,
  };
}

function resolveWeights(method: SoupMethod, models: number, input: SoupParametersInput): number[] {
  if (input.weights !== undefined && input.weights.length !== models) {
    const code = method === 'weighted' ? 'SOUP_WEIGHTS_INVALID' : 'SOUP_PARAMETERS_INVALID';
    throw new CoreError(code, `${input.weights.length} weights for ${models} models`, { weights: input.weights.length, models });
  }
  const given = input.weights?.slice();
  for (const w of given ?? []) {
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      const code = method === 'weighted' ? 'SOUP_WEIGHTS_INVALID' : 'SOUP_PARAMETERS_INVALID';
      throw new CoreError(code, `weights must be finite numbers, got ${String(w)}`, { weights: given });
    }
  }
  if (method === 'uniform') return new Array<number>(models).fill(1 / models);
  if (method === 'weighted') {
    if (!given) throw new CoreError('SOUP_WEIGHTS_INVALID', 'weighted needs one weight per model', { models });
    const negative = given.findIndex((w) => w < 0);
    if (negative >= 0) throw new CoreError('SOUP_WEIGHTS_INVALID', `weight ${negative} is negative (${given[negative]})`, { weights: given });
    const sum = given.reduce((a, b) => a + b, 0);
    if (input.normalize) {
      if (!(sum > 0)) throw new CoreError('SOUP_WEIGHTS_INVALID', 'the weights sum to 0', { weights: given });
      return given.map((w) => w / sum);
    }
    if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
      throw new CoreError('SOUP_WEIGHTS_INVALID', `weights must sum to 1 (within ${WEIGHT_SUM_TOLERANCE}), got ${sum}`, { weights: given, sum });
    }
    return given;
  }
  if (TASK_VECTOR_METHODS.includes(method)) return given ?? new Array<number>(models).fill(1);
  return [];
}

function resolveDensities(models: number, input: SoupParametersInput): number[] {
  const inRange = (v: number): boolean => v > 0 && v <= 1;
  if (input.density !== undefined && input.densities !== undefined) throw invalid('give density or densities, not both', {});
  if (input.densities !== undefined) {
    if (input.densities.length !== models) throw invalid(`${input.densities.length} densities for ${models} models`, { models });
    return input.densities.map((d, i) => finite(`densities[${i}]`, d, inRange, 'in (0, 1]') as number);
  }
  const d = finite('density', input.density, inRange, 'in (0, 1]') ?? 1;
  return new Array<number>(models).fill(d);
}
