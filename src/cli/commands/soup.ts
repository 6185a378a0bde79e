import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { planSoup, type SoupSource } from '../../core/averaging/engine';
import { isFloatDtype } from '../../core/averaging/numeric';
import type { SoupMethod, SoupParameters, SoupParametersInput } from '../../core/averaging/parameters';
import { parseSoupRecipe, RECIPE_DTYPES, type SoupRecipe } from '../../core/averaging/recipe';
import { CoreError } from '../../core/errors';
import { writeSafetensors } from '../../core/formats/safetensors';
import { fileSource, type RandomAccessSource } from '../../core/io/random-access';
import { UsageError } from '../cli-io';

/** The methods `--method` accepts (recipes may also name breadcrumbs_ties and linear). */
export const CLI_SOUP_METHODS = ['uniform', 'weighted', 'task-arithmetic', 'ties', 'dare-linear', 'dare-ties', 'breadcrumbs', 'slerp', 'model-stock'] as const;

export interface SoupCommandOptions {
  method?: SoupMethod;
  weights?: number[];
  base?: string;
  density?: number;
  t?: number;
  seed?: number;
  recipe?: string;
  out: string;
}

export interface SoupSummary {
  out: string;
  method: SoupMethod;
  parameters: SoupParameters;
  base: { path: string; sha256: string } | null;
  ingredients: { path: string; sha256: string }[];
  tensors: number;
  bytes: number;
  sha256: string;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Resolved {
  method: SoupMethod;
  base: string | null;
  models: string[];
  parameters: SoupParametersInput;
  dtype: string | null;
}

/** Command-line flags over the recipe: the method and the models may come from either, not both. */
function resolveInputs(inputs: readonly string[], opts: SoupCommandOptions, recipe: SoupRecipe | null, path: (p: string) => string): Resolved {
  if (recipe && opts.method && opts.method !== recipe.method) throw new UsageError(`--method ${opts.method} contradicts the recipe's merge_method (${recipe.method})`);
  const method = opts.method ?? recipe?.method;
  if (!method) throw new UsageError('give --method or --recipe');
  if (recipe && recipe.models.length > 0 && inputs.length > 0) throw new UsageError('give the models in the recipe or as arguments, not both');
  if (recipe && recipe.base && opts.base && path(recipe.base) !== path(opts.base)) throw new UsageError('--base contradicts the recipe\'s base_model');
  let models = (inputs.length > 0 ? inputs : (recipe?.models ?? [])).map(path);
  let base = opts.base ?? recipe?.base ?? null;
  base = base === null ? null : path(base);
  // SLERP between two files without --base: the first is x0.
  if (method === 'slerp' && base === null && models.length === 2) [base, models] = [models[0], models.slice(1)];
  const parameters: SoupParametersInput = { ...(recipe?.parameters ?? {}) };
  if (opts.weights) parameters.weights = opts.weights;
  if (opts.density !== undefined) {
    delete parameters.densities;
    parameters.density = opts.density;
  }
  if (opts.t !== undefined) parameters.t = opts.t;
  if (opts.seed !== undefined) parameters.seed = opts.seed;
  return { method, base, models, parameters, dtype: recipe?.dtype ?? null };
}

/**
 * `weightsmith soup`: merges safetensors checkpoints tensor by tensor into OUT (written
 * atomically; a refused soup writes nothing) and reports the recipe with every file's sha256.
 */
export async function runSoupCommand(inputs: readonly string[], opts: SoupCommandOptions, path: (p: string) => string): Promise<SoupSummary> {
  const recipe = opts.recipe ? parseSoupRecipe(await readFile(path(opts.recipe), 'utf8')) : null;
  const r = resolveInputs(inputs, opts, recipe, path);
  const out = path(opts.out);
  if ([...r.models, r.base].includes(out)) throw new UsageError('the output must differ from every input');
  const opened: RandomAccessSource[] = [];
  const open = async (file: string, label: string): Promise<SoupSource> => {
    const source = await fileSource(file);
    opened.push(source);
    return { label, source };
  };
  try {
    const base = r.base ? await open(r.base, r.base) : undefined;
    const models: SoupSource[] = [];
    for (const m of r.models) models.push(await open(m, m));
    const plan = await planSoup({ method: r.method, base, models, parameters: r.parameters });
    const expected = r.dtype ? (RECIPE_DTYPES[r.dtype] ?? r.dtype) : null;
    const other = expected ? plan.tensors.find((t) => isFloatDtype(t.dtype) && t.dtype !== expected) : undefined;
    if (other) throw new CoreError('SOUP_RECIPE_INVALID', `the recipe asks for dtype ${r.dtype} but ${other.name} is ${other.dtype} (soups keep the ingredients' dtype)`, { tensor: other.name });
    const written = await writeSafetensors(out, plan.tensors, plan.metadata);
    return {
      out,
      method: r.method,
      parameters: plan.parameters,
      base: r.base ? { path: r.base, sha256: await fileSha256(r.base) } : null,
      ingredients: await Promise.all(r.models.map(async (m) => ({ path: m, sha256: await fileSha256(m) }))),
      tensors: plan.tensors.length,
      bytes: written.bytesWritten,
      sha256: written.sha256,
    };
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}
