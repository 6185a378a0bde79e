import { isSoupMethod, parseSoupRecipe, type SoupParametersInput } from '../../core/averaging';
import { CoreError } from '../../core/errors';
import type { SoupRequestMethod, StoredRecipe } from './soup.types';

/** POST /v1/soups as the DTO validated it: a method with ingredients, or a mergekit recipe. */
export interface SoupRequestBody {
  method?: string;
  checkpointIds?: string[];
  weights?: number[];
  baseCheckpointId?: string;
  parameters?: Record<string, unknown>;
  /** A mergekit YAML recipe whose model references are checkpoint ids. */
  recipe?: string;
}

/** What to mix: the method, its ingredients and base, and its parameters as given (checked by value when planned). */
export interface ResolvedSoupRequest {
  method: SoupRequestMethod;
  checkpointIds: string[];
  baseCheckpointId: string | null;
  /** For the engine (not greedy). */
  parameters: SoupParametersInput;
  /** As requested, for the record. */
  requested: Record<string, unknown>;
  acceptTies: boolean;
  source: StoredRecipe['source'];
  yaml?: string;
  /** The recipe's dtype (safetensors name), when it gives one: the ingredients must have it. */
  dtype: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Engine parameters and their JSON types (values are checked by the engine). */
const PARAMETER_TYPES: Record<keyof SoupParametersInput, 'number' | 'boolean' | 'numbers'> = {
  weights: 'numbers',
  density: 'number',
  densities: 'numbers',
  lambda: 'number',
  normalize: 'boolean',
  rescale: 'boolean',
  gamma: 'number',
  t: 'number',
  seed: 'number',
  filterWise: 'boolean',
};

function parametersInvalid(message: string, details: Record<string, unknown> = {}): CoreError {
  return new CoreError('SOUP_PARAMETERS_INVALID', message, details);
}

function engineParameters(given: Record<string, unknown>): SoupParametersInput {
  for (const [key, value] of Object.entries(given)) {
    const type = PARAMETER_TYPES[key as keyof SoupParametersInput];
    if (!type) throw parametersInvalid(`unknown parameter ${key} (known: ${Object.keys(PARAMETER_TYPES).join(', ')})`, { parameter: key });
    const ok = type === 'numbers' ? Array.isArray(value) && value.every((v) => typeof v === 'number') : typeof value === type;
    if (!ok) throw parametersInvalid(`${key} must be ${type === 'numbers' ? 'an array of numbers' : `a ${type}`}`, { parameter: key });
  }
  return given as SoupParametersInput;
}

function checkIngredients(checkpointIds: string[], baseCheckpointId: string | null): void {
  if (checkpointIds.length === 0) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a soup needs at least one checkpoint in checkpointIds');
  const duplicate = checkpointIds.find((id, i) => checkpointIds.indexOf(id) !== i);
  if (duplicate) throw parametersInvalid(`checkpoint ${duplicate} is listed twice: give each ingredient once (weights set their share)`, { checkpointId: duplicate });
  if (baseCheckpointId && checkpointIds.includes(baseCheckpointId)) throw parametersInvalid(`the base ${baseCheckpointId} is also among the ingredients`, { checkpointId: baseCheckpointId });
}

/** Maps a mergekit recipe onto checkpoints: every model reference (and the base) must be a checkpoint id. */
function fromRecipe(body: SoupRequestBody): ResolvedSoupRequest {
  const given = (['method', 'checkpointIds', 'weights', 'baseCheckpointId', 'parameters'] as const).filter((k) => body[k] !== undefined);
  if (given.length > 0) throw new CoreError('SOUP_RECIPE_INVALID', `give either a recipe or ${given.join(', ')}, not both`, { fields: given });
  const recipe = parseSoupRecipe(body.recipe!);
  for (const ref of [...recipe.models, ...(recipe.base ? [recipe.base] : [])]) {
    if (!UUID.test(ref)) throw new CoreError('SOUP_RECIPE_INVALID', `model ${JSON.stringify(ref)}: a recipe names checkpoints by id`, { model: ref });
  }
  const checkpointIds = recipe.models.map((m) => m.toLowerCase());
  const baseCheckpointId = recipe.base?.toLowerCase() ?? null;
  checkIngredients(checkpointIds, baseCheckpointId);
  const parameters = Object.fromEntries(Object.entries(recipe.parameters).filter(([, v]) => v !== undefined)) as SoupParametersInput;
  return { method: recipe.method, checkpointIds, baseCheckpointId, parameters, requested: { ...parameters }, acceptTies: false, source: 'mergekit-yaml', yaml: body.recipe, dtype: recipe.dtype };
}

/**
 * Resolves a soup request to one shape, checking what needs no database: the method, ingredients
 * given once and apart from the base (SOUP_INGREDIENTS_EMPTY, SOUP_PARAMETERS_INVALID), parameter
 * names and types, and a recipe (SOUP_RECIPE_INVALID). `weights` may be given at the top level or
 * among the parameters. Values (ranges, sums, counts) are checked when the soup is planned.
 */
export function resolveSoupRequest(body: SoupRequestBody): ResolvedSoupRequest {
  if (body.recipe !== undefined) return fromRecipe(body);
  const method = body.method;
  if (method !== 'greedy' && !isSoupMethod(method)) throw parametersInvalid(`unknown method ${String(method)}`, { method });
  const checkpointIds = body.checkpointIds ?? [];
  const baseCheckpointId = body.baseCheckpointId ?? null;
  checkIngredients(checkpointIds, baseCheckpointId);
  const given = { ...(body.parameters ?? {}) };
  if (body.weights !== undefined) {
    if (given.weights !== undefined) throw parametersInvalid('weights given twice: at the top level and in parameters', { parameter: 'weights' });
    given.weights = body.weights;
  }
  const common = { checkpointIds, baseCheckpointId, requested: { ...given }, source: 'json' as const, dtype: null };
  if (method === 'greedy') {
    const { acceptTies, ...rest } = given;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw parametersInvalid(`greedy takes no ${extra.join(', ')} (it takes acceptTies): each kept ingredient weighs the same`, { method, parameter: extra[0] });
    if (acceptTies !== undefined && typeof acceptTies !== 'boolean') throw parametersInvalid('acceptTies must be a boolean', { parameter: 'acceptTies' });
    if (baseCheckpointId) throw parametersInvalid('greedy takes no base model', { method });
    return { method, ...common, parameters: {}, acceptTies: acceptTies ?? false };
  }
  return { method, ...common, parameters: engineParameters(given), acceptTies: false };
}
