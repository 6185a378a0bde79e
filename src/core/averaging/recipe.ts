import { load } from 'js-yaml';
import { CoreError } from '../errors';
import { isSoupMethod, type SoupMethod, type SoupParametersInput } from './parameters';

/** A merge recipe in mergekit's YAML layout, reduced to what the engine runs. */
export interface SoupRecipe {
  method: SoupMethod;
  /** Model references as written (paths or ids); the base is never among them. */
  models: string[];
  base: string | null;
  parameters: SoupParametersInput;
  /** The recipe's `dtype`, when given: the ingredients must already have it (no conversion). */
  dtype: string | null;
}

/** mergekit's method names, and ours, to engine methods. */
const METHOD_NAMES: Record<string, SoupMethod> = {
  linear: 'weighted',
  task_arithmetic: 'task-arithmetic',
  ties: 'ties',
  dare_linear: 'dare-linear',
  dare_ties: 'dare-ties',
  breadcrumbs: 'breadcrumbs',
  breadcrumbs_ties: 'breadcrumbs-ties',
  slerp: 'slerp',
  model_stock: 'model-stock',
};

/** Global parameters (mergekit names) and where they go; weight and density may also be per model. */
const GLOBAL_KEYS = ['weight', 'density', 'lambda', 'normalize', 'rescale', 'gamma', 't', 'filter_wise', 'seed'] as const;
/** Accepted and ignored: memory or hardware hints that do not change the result. */
const IGNORED_KEYS = ['int8_mask'];
const TOP_KEYS = ['merge_method', 'models', 'base_model', 'parameters', 'dtype', 'tokenizer_source', 'name'];

function invalid(message: string, details: Record<string, unknown> = {}): CoreError {
  return new CoreError('SOUP_RECIPE_INVALID', message, details);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalar<T extends 'number' | 'boolean'>(where: string, value: unknown, type: T): (T extends 'number' ? number : boolean) | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) || isRecord(value)) throw invalid(`${where}: per-layer gradients and tensor filters are not supported; give one ${type}`, { parameter: where });
  if (typeof value !== type) throw invalid(`${where} must be a ${type}, got ${JSON.stringify(value)}`, { parameter: where });
  return value as T extends 'number' ? number : boolean;
}

function checkKeys(where: string, record: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(record)) if (!allowed.includes(key)) throw invalid(`${where}: unknown key ${key}`, { key });
}

/**
 * Parses a mergekit-style recipe: `merge_method`, `base_model`, `models: [{model, parameters:
 * {weight, density}}]`, `parameters`, `dtype`. mergekit's `linear` becomes `weighted` with its
 * normalize default (on). A model equal to the base is dropped from the models, as mergekit does.
 * `slices`, per-layer gradients and tensor filters are refused (SOUP_RECIPE_INVALID).
 */
export function parseSoupRecipe(text: string): SoupRecipe {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (error) {
    throw invalid(`the recipe is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(doc)) throw invalid('the recipe must be a YAML mapping');
  if ('slices' in doc) throw invalid('slices are not supported: list whole models under `models`');
  checkKeys('recipe', doc, TOP_KEYS);
  const methodName = doc.merge_method;
  const method = typeof methodName === 'string' ? (METHOD_NAMES[methodName] ?? (isSoupMethod(methodName) ? methodName : null)) : null;
  if (!method) throw invalid(`unknown merge_method ${JSON.stringify(methodName)}`, { method: methodName });

  const base = doc.base_model === undefined || doc.base_model === null ? null : String(doc.base_model);
  const global = doc.parameters === undefined || doc.parameters === null ? {} : doc.parameters;
  if (!isRecord(global)) throw invalid('parameters must be a mapping');
  checkKeys('parameters', global, [...GLOBAL_KEYS, ...IGNORED_KEYS]);

  const entries = doc.models === undefined || doc.models === null ? [] : doc.models;
  if (!Array.isArray(entries)) throw invalid('models must be a list');
  const models: string[] = [];
  const weights: (number | undefined)[] = [];
  const densities: (number | undefined)[] = [];
  for (const [i, entry] of entries.entries()) {
    const record: Record<string, unknown> = typeof entry === 'string' ? { model: entry } : isRecord(entry) ? entry : {};
    if (typeof record.model !== 'string' || record.model === '') throw invalid(`models[${i}] needs a model`, { index: i });
    checkKeys(`models[${i}]`, record, ['model', 'parameters']);
    if (record.model === base) continue;
    const own = record.parameters ?? {};
    if (!isRecord(own)) throw invalid(`models[${i}].parameters must be a mapping`);
    checkKeys(`models[${i}].parameters`, own, ['weight', 'density']);
    models.push(record.model);
    weights.push(scalar(`models[${i}].weight`, own.weight, 'number') ?? scalar('weight', global.weight, 'number'));
    densities.push(scalar(`models[${i}].density`, own.density, 'number') ?? scalar('density', global.density, 'number'));
  }

  const parameters: SoupParametersInput = {
    lambda: scalar('lambda', global.lambda, 'number'),
    normalize: scalar('normalize', global.normalize, 'boolean') ?? (methodName === 'linear' ? true : undefined),
    rescale: scalar('rescale', global.rescale, 'boolean'),
    gamma: scalar('gamma', global.gamma, 'number'),
    t: scalar('t', global.t, 'number'),
    seed: scalar('seed', global.seed, 'number'),
    filterWise: scalar('filter_wise', global.filter_wise, 'boolean'),
  };
  if (weights.some((w) => w !== undefined)) {
    if (method === 'weighted' && weights.some((w) => w === undefined)) throw invalid('linear: every model needs a weight');
    parameters.weights = weights.map((w) => w ?? 1);
  } else if (global.weight !== undefined && models.length === 0) {
    throw invalid('a global weight needs models to apply to');
  }
  if (densities.some((d) => d !== undefined)) parameters.densities = densities.map((d) => d ?? 1);
  else if (global.density !== undefined) parameters.density = scalar('density', global.density, 'number');
  const dtype = doc.dtype === undefined || doc.dtype === null ? null : String(doc.dtype);
  return { method, models, base, parameters: dropUndefined(parameters), dtype };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** mergekit dtype names to safetensors dtypes. */
export const RECIPE_DTYPES: Record<string, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64' };
