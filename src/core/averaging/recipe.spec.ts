import { parseSoupRecipe } from './recipe';

describe('mergekit-style recipes', () => {
  it('reads method, base, per-model weight and density, and global parameters; drops the base from the models', () => {
    const recipe = parseSoupRecipe(`
models:
  - model: base.safetensors
  - model: a.safetensors
    parameters:
      weight: 0.6
      density: 0.5
  - model: b.safetensors
    parameters: {weight: 0.4}
merge_method: dare_ties
base_model: base.safetensors
parameters:
  density: 0.7
  normalize: true
  int8_mask: true
  seed: 3
dtype: bfloat16
`);
    expect(recipe).toEqual({
      method: 'dare-ties',
      base: 'base.safetensors',
      models: ['a.safetensors', 'b.safetensors'],
      parameters: { weights: [0.6, 0.4], densities: [0.5, 0.7], normalize: true, seed: 3 },
      dtype: 'bfloat16',
    });
  });

  it('maps mergekit names; linear is weighted with normalize on; our own names work too', () => {
    expect(parseSoupRecipe('merge_method: linear\nmodels: [{model: a, parameters: {weight: 2}}, {model: b, parameters: {weight: 1}}]')).toMatchObject({
      method: 'weighted',
      parameters: { weights: [2, 1], normalize: true },
    });
    expect(parseSoupRecipe('merge_method: model_stock\nbase_model: b\nmodels: [x, y]\nparameters: {filter_wise: true}')).toMatchObject({
      method: 'model-stock',
      parameters: { filterWise: true },
    });
    expect(parseSoupRecipe('merge_method: slerp\nbase_model: a\nmodels: [a, b]\nparameters: {t: 0.3}')).toMatchObject({ method: 'slerp', models: ['b'], parameters: { t: 0.3 } });
    expect(parseSoupRecipe('merge_method: task-arithmetic\nbase_model: a\nmodels: [b]\nparameters: {weight: 0.5, lambda: 2}').parameters).toEqual({ weights: [0.5], lambda: 2 });
  });

  it.each([
    ['not YAML', 'merge_method: [ties'],
    ['an unknown method', 'merge_method: frankenmerge'],
    ['slices', 'merge_method: slerp\nslices: []'],
    ['a gradient', 'merge_method: slerp\nbase_model: a\nmodels: [b]\nparameters: {t: [0, 0.5, 1]}'],
    ['a tensor filter', 'merge_method: ties\nbase_model: a\nmodels: [b]\nparameters: {density: [{filter: mlp, value: 0.5}, {value: 0.3}]}'],
    ['an unknown key', 'merge_method: ties\nbase_model: a\nmodels: [b]\nparameters: {densty: 0.5}'],
    ['a wrong type', 'merge_method: ties\nbase_model: a\nmodels: [b]\nparameters: {normalize: 1}'],
    ['a linear model without weight', 'merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}, b]'],
  ])('refuses %s with SOUP_RECIPE_INVALID', (_, text) => {
    expect(() => parseSoupRecipe(text)).toThrow(expect.objectContaining({ code: 'SOUP_RECIPE_INVALID' }));
  });
});
