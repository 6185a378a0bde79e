import fc from 'fast-check';
import { greedySoup, learnedSoupInit } from './greedy-soup';
import { uniformMean, weightedSum } from './merge-math';
import { testValues } from './testing/checkpoints';

/** The toy of the test catalogue: models are scalars, held-out accuracy 1 − |θ − 0.5|. */
const toy: Record<string, number> = { A: 0, B: 1, C: 0.45, D: 0.9, E: 0.6 };
const accuracy = (theta: number): number => 1 - Math.abs(theta - 0.5);

function scorer(thetas: readonly number[]): { score: (w: readonly number[]) => Promise<number>; calls: number[][] } {
  const calls: number[][] = [];
  return {
    calls,
    score: async (w) => {
      calls.push([...w]);
      return accuracy(w.reduce((s, wi, i) => s + wi * thetas[i], 0));
    },
  };
}

describe('greedy soup', () => {
  it('follows the toy: ranking C, E, D, A, B; keeps [C, E] at θ 0.525, accuracy 0.975 (T-SOUP-7)', async () => {
    const ids = Object.keys(toy);
    const { score } = scorer(ids.map((id) => toy[id]));
    const result = await greedySoup(ids, score);
    expect(result.ranking.map((r) => r.id)).toEqual(['C', 'E', 'D', 'A', 'B']);
    const theta = (w: readonly number[]): number => w.reduce((s, wi, i) => s + wi * toy[ids[i]], 0);
    expect(result.steps.map((s) => [s.id, s.accepted])).toEqual([
      ['E', true],
      ['D', false],
      ['A', false],
      ['B', false],
    ]);
    const expected = [
      [0.525, 0.975],
      [0.65, 0.85],
      [0.35, 0.85],
      [0.683333, 0.816667],
    ];
    result.steps.forEach((s, i) => {
      expect(theta(s.weights)).toBeCloseTo(expected[i][0], 6);
      expect(s.score).toBeCloseTo(expected[i][1], 6);
    });
    expect(result.kept).toEqual(['C', 'E']);
    expect(theta(result.weights)).toBeCloseTo(0.525, 12);
    expect(result.score).toBeCloseTo(0.975, 12);
    // The uniform soup of all five, for comparison: θ 0.59, accuracy 0.91.
    expect(accuracy(ids.reduce((s, id) => s + toy[id] / 5, 0))).toBeCloseTo(0.91, 12);
  });

  it('gt rejects a duplicate that ties; gte accepts it and ends at θ 0.5, accuracy 1 (T-SOUP-8)', async () => {
    const ids = [...Object.keys(toy), 'F'];
    const thetas = ids.map((id) => (id === 'F' ? 0.45 : toy[id]));
    const gt = await greedySoup(ids, scorer(thetas).score);
    expect(gt.kept).toEqual(['C', 'E']);
    expect(gt.steps.find((s) => s.id === 'F')).toMatchObject({ score: 0.95, accepted: false });
    const gte = await greedySoup(ids, scorer(thetas).score, { acceptRule: 'gte' });
    expect(gte.kept).toEqual(['C', 'F', 'E']);
    expect(gte.score).toBeCloseTo(1, 12);
    const theta = gte.weights.reduce((s, w, i) => s + w * thetas[i], 0);
    expect(theta).toBeCloseTo(0.5, 12);
    expect(gte.steps.slice(2).map((s) => [s.id, s.accepted])).toEqual([
      ['D', false],
      ['A', false],
      ['B', false],
    ]);
  });

  it('never scores below the best single candidate; tries each candidate once; starts from the best (T-SOUP-9)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 3 }), async (thetas, shape) => {
        const ids = thetas.map((_, i) => `m${i}`);
        const evaluate = (x: number): number => [accuracy(x), -x * x, Math.sin(5 * x), Math.round(x)][shape];
        const calls: number[][] = [];
        const result = await greedySoup(ids, async (w) => {
          calls.push([...w]);
          return evaluate(w.reduce((s, wi, i) => s + wi * thetas[i], 0));
        });
        const best = Math.max(...result.ranking.map((r) => r.score));
        expect(result.score).toBeGreaterThanOrEqual(best);
        expect(result.kept[0]).toBe(result.ranking[0].id);
        expect(calls.length).toBe(2 * ids.length - 1);
        expect(new Set(result.steps.map((s) => s.id)).size).toBe(ids.length - 1);
      }),
      { numRuns: 100 },
    );
  });

  it('returns exactly the best candidate when nothing improves (T-SOUP-10), deterministically (T-SOUP-14)', async () => {
    const ids = ['a', 'b', 'c'];
    const thetas = [0.5, 0.2, 0.9];
    const first = await greedySoup(ids, scorer(thetas).score);
    expect(first.kept).toEqual(['a']);
    expect(first.weights).toEqual([1, 0, 0]);
    expect(await greedySoup(ids, scorer(thetas).score)).toEqual(first);
  });

  it('orders the official results\' top and the model_4/model_5 tie by id (T-SOUP-11)', async () => {
    const heldOut: Record<string, number> = {
      model_0: 0.780808,
      model_4: 0.785269,
      model_5: 0.785269,
      model_27: 0.822846,
      model_63: 0.8235,
      model_48: 0.824077,
      model_69: 0.824731,
      model_44: 0.829,
      model_43: 0.8305,
    };
    const ids = Object.keys(heldOut).reverse();
    const result = await greedySoup(ids, async () => 0, { individualScores: ids.map((id) => heldOut[id]) });
    expect(result.ranking.map((r) => r.id)).toEqual(['model_43', 'model_44', 'model_69', 'model_48', 'model_63', 'model_27', 'model_4', 'model_5', 'model_0']);
    expect(result.evaluations).toBe(ids.length - 1);
  });

  it('refuses an empty candidate list and duplicate ids', async () => {
    await expect(greedySoup([], async () => 0)).rejects.toMatchObject({ code: 'SOUP_INGREDIENTS_EMPTY' });
    await expect(greedySoup(['a', 'a'], async () => 0)).rejects.toMatchObject({ code: 'SOUP_PARAMETERS_INVALID' });
  });
});

describe('learned soup initialization', () => {
  it('starts at weights exactly 1/k, the uniform soup, temperature 1 (T-SOUP-12)', () => {
    for (const k of [1, 3, 7, 72]) {
      const init = learnedSoupInit(k, 2);
      expect(init.temperature).toBe(1);
      expect(init.logits).toHaveLength(2);
      for (const w of init.weights) expect(Array.from(w)).toEqual(new Array<number>(k).fill(1 / k));
      const models = Array.from({ length: k }, (_, i) => testValues(32, i + 1));
      const learned = weightedSum(models, Array.from(init.weights[0]));
      const uniform = uniformMean(models);
      for (let j = 0; j < 32; j++) expect(Math.abs(Math.fround(learned[j]) - Math.fround(uniform[j]))).toBeLessThanOrEqual(1e-6);
    }
  });
});
