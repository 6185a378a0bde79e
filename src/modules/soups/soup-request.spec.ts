import { isCoreError } from '../../core/errors';
import { resolveSoupRequest, type SoupRequestBody } from './soup-request';

const A = '0b6f6a0e-7a51-4c4f-9b1e-2f1f5d6c7a80';
const B = '1c7f6a0e-7a51-4c4f-9b1e-2f1f5d6c7a81';
const BASE = '2d8f6a0e-7a51-4c4f-9b1e-2f1f5d6c7a82';

function codeOf(body: SoupRequestBody): string {
  try {
    resolveSoupRequest(body);
  } catch (e) {
    if (isCoreError(e)) return e.code;
    throw e;
  }
  return 'accepted';
}

describe('resolveSoupRequest', () => {
  it('takes weights at the top level into the engine parameters', () => {
    const r = resolveSoupRequest({ method: 'ties', checkpointIds: [A, B], baseCheckpointId: BASE, weights: [0.6, 0.4], parameters: { density: 0.5 } });
    expect(r).toMatchObject({ method: 'ties', checkpointIds: [A, B], baseCheckpointId: BASE, parameters: { weights: [0.6, 0.4], density: 0.5 }, source: 'json', dtype: null });
  });

  it('maps a mergekit recipe onto checkpoint ids (the base dropped from the models), keeping the YAML', () => {
    const yaml = `merge_method: task_arithmetic\nbase_model: ${BASE}\nmodels:\n  - model: ${BASE}\n  - model: ${A.toUpperCase()}\n    parameters: {weight: 0.5}\n  - model: ${B}\n    parameters: {weight: 0.25}\nparameters: {lambda: 0.8}\ndtype: float32\n`;
    expect(resolveSoupRequest({ recipe: yaml })).toEqual({
      method: 'task-arithmetic',
      checkpointIds: [A, B],
      baseCheckpointId: BASE,
      parameters: { weights: [0.5, 0.25], lambda: 0.8 },
      requested: { weights: [0.5, 0.25], lambda: 0.8 },
      acceptTies: false,
      source: 'mergekit-yaml',
      yaml,
      dtype: 'float32',
    });
  });

  it('reads greedy options', () => {
    expect(resolveSoupRequest({ method: 'greedy', checkpointIds: [A, B], parameters: { acceptTies: true } })).toMatchObject({ method: 'greedy', acceptTies: true, parameters: {} });
    expect(resolveSoupRequest({ method: 'greedy', checkpointIds: [A, B] }).acceptTies).toBe(false);
  });

  it.each<[string, SoupRequestBody, string]>([
    ['no ingredients', { method: 'uniform', checkpointIds: [] }, 'SOUP_INGREDIENTS_EMPTY'],
    ['no ingredients in a recipe', { recipe: 'merge_method: linear\nmodels: []' }, 'SOUP_INGREDIENTS_EMPTY'],
    ['an ingredient twice', { method: 'uniform', checkpointIds: [A, A] }, 'SOUP_PARAMETERS_INVALID'],
    ['the base among the ingredients', { method: 'task-arithmetic', checkpointIds: [A, BASE], baseCheckpointId: BASE }, 'SOUP_PARAMETERS_INVALID'],
    ['weights twice', { method: 'weighted', checkpointIds: [A, B], weights: [0.5, 0.5], parameters: { weights: [0.5, 0.5] } }, 'SOUP_PARAMETERS_INVALID'],
    ['an unknown parameter', { method: 'ties', checkpointIds: [A], baseCheckpointId: BASE, parameters: { temperature: 1 } }, 'SOUP_PARAMETERS_INVALID'],
    ['a parameter of the wrong type', { method: 'ties', checkpointIds: [A], baseCheckpointId: BASE, parameters: { density: '0.5' } }, 'SOUP_PARAMETERS_INVALID'],
    ['weights that are not numbers', { method: 'weighted', checkpointIds: [A, B], weights: ['a', 'b'] as unknown as number[] }, 'SOUP_PARAMETERS_INVALID'],
    ['an unknown method', { method: 'blend', checkpointIds: [A] }, 'SOUP_PARAMETERS_INVALID'],
    ['greedy with weights', { method: 'greedy', checkpointIds: [A, B], weights: [0.5, 0.5] }, 'SOUP_PARAMETERS_INVALID'],
    ['greedy with a base', { method: 'greedy', checkpointIds: [A, B], baseCheckpointId: BASE }, 'SOUP_PARAMETERS_INVALID'],
    ['greedy acceptTies not a boolean', { method: 'greedy', checkpointIds: [A, B], parameters: { acceptTies: 'yes' } }, 'SOUP_PARAMETERS_INVALID'],
    ['a recipe and a method', { recipe: `merge_method: linear\nmodels: [${A}]`, method: 'uniform' }, 'SOUP_RECIPE_INVALID'],
    ['a recipe naming a hub model', { recipe: 'merge_method: linear\nmodels:\n  - model: org/model\n    parameters: {weight: 1}' }, 'SOUP_RECIPE_INVALID'],
    ['a recipe with slices', { recipe: 'merge_method: linear\nslices: []' }, 'SOUP_RECIPE_INVALID'],
  ])('refuses %s', (_what, body, code) => {
    expect(codeOf(body)).toBe(code);
  });
});
