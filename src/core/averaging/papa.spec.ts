import type { NamedArrays } from './batchnorm';
import { uniformMean } from './merge-math';
import {
  effectiveAlpha,
  memberRegularization,
  papa2,
  papa2Pairs,
  papaAll,
  papaMergeDue,
  papaPull,
  papaPullDue,
  perStepPull,
  populationMean,
  regularizationGrid,
  summarizePopulation,
} from './papa';

const member = (w: number[]): NamedArrays => ({ w: Float64Array.from(w) });
const values = (m: NamedArrays, k = 'w'): number[] => Array.from(m[k] as Float64Array);

describe('PAPA', () => {
  it('a pull keeps the population mean and shrinks differences by α (T-PAPA-1)', () => {
    const pop = [member([1, 2]), member([3, -2]), member([-1, 0])];
    papaPull(pop, 0.99);
    const want = [[1, 1.98], [2.98, -1.98], [-0.98, 0]];
    pop.forEach((m, j) => values(m).forEach((v, i) => expect(v).toBeCloseTo(want[j][i], 12)));
    const distance = (): number => Math.hypot(...values(pop[0]).map((v, i) => v - values(pop[1])[i]));
    const distances = [distance()];
    for (let k = 0; k < 2; k++) {
      papaPull(pop, 0.99);
      distances.push(distance());
      const mean = values({ w: populationMean(pop).w });
      expect(mean[0]).toBeCloseTo(1, 12);
      expect(mean[1]).toBeCloseTo(0, 12);
    }
    expect(distances.map((d) => d.toFixed(6))).toEqual(['4.427415', '4.383140', '4.339309']);
    expect(distances[2]).toBeCloseTo(Math.hypot(2, 4) * 0.99 ** 3, 10);
  });

  it('pulls after within-epoch steps 0, 10, 20 (3 per 25-step epoch); α = 1 or p = 1 change nothing (T-PAPA-2)', () => {
    const pulls = Array.from({ length: 25 }, (_, i) => i).filter((i) => papaPullDue(i, 10));
    expect(pulls).toEqual([0, 10, 20]);
    const pop = [member([1, 2]), member([3, -2])];
    const before = pop.map((m) => values(m));
    papaPull(pop, 1);
    expect(pop.map((m) => values(m))).toEqual(before);
    const alone = [member([0.1, 0.2])];
    papaPull(alone, 0.5);
    expect(values(alone[0])).toEqual([0.1, 0.2]);
  });

  it('couples the pull to the learning rate linearly (T-PAPA-3)', () => {
    expect([1, 0.5, 0.1, 0.001].map((r) => effectiveAlpha(0.99, r))).toEqual([0.99, 0.995, 0.999, 0.99999].map((v) => expect.closeTo(v, 12)));
    expect(perStepPull(0.99, 10)).toBeCloseTo(0.00100453, 8);
  });

  it('pulls BatchNorm statistics too and leaves integer buffers alone (T-PAPA-4)', () => {
    const pop: NamedArrays[] = [
      { 'bn.running_mean': new Float32Array([0, 2]), 'bn.num_batches_tracked': new BigInt64Array([10n]) },
      { 'bn.running_mean': new Float32Array([2, 0]), 'bn.num_batches_tracked': new BigInt64Array([30n]) },
    ];
    papaPull(pop, 0.5);
    expect(Array.from(pop[0]['bn.running_mean'] as Float32Array)).toEqual([0.5, 1.5]);
    expect(pop.map((m) => (m['bn.num_batches_tracked'] as BigInt64Array)[0])).toEqual([10n, 30n]);
  });

  it('PAPA-all makes every member the average, at epochs e mod K = 0 but never the last (T-PAPA-5)', () => {
    const pop = [member([1, 2]), member([3, -2]), member([-1, 0])];
    papaAll(pop);
    pop.forEach((m) => expect(values(m)).toEqual([1, 0]));
    expect(Array.from({ length: 10 }, (_, e) => e).filter((e) => papaMergeDue(e, 3, 10))).toEqual([0, 3, 6]);
    expect(Array.from({ length: 10 }, (_, e) => e).filter((e) => papaMergeDue(e, 5, 10))).toEqual([0, 5]);
  });

  it('PAPA-2 forms p random pairs, averaging each 50/50; members appear about twice on average (T-PAPA-6)', () => {
    const pop = [0, 1, 2, 3, 4].map((j) => member([j, 10 * j]));
    const pairs = papa2Pairs(5, 7);
    expect(pairs).toHaveLength(5);
    expect(papa2Pairs(5, 7)).toEqual(pairs);
    const old = pop.map((m) => values(m));
    papa2(pop, pairs);
    pairs.forEach(([a, b], j) => {
      expect(a).not.toBe(b);
      expect(values(pop[j])).toEqual(old[a].map((v, i) => 0.5 * v + 0.5 * old[b][i]));
    });
    const appearances = new Array<number>(5).fill(0);
    const seeds = 400;
    for (let seed = 0; seed < seeds; seed++) {
      for (const [a, b] of papa2Pairs(5, seed)) {
        appearances[a]++;
        appearances[b]++;
      }
    }
    for (const count of appearances) {
      expect(count / seeds).toBeGreaterThan(1.8);
      expect(count / seeds).toBeLessThan(2.2);
    }
  });

  it('assigns member j entry j mod 81 of a seeded shuffle of the 81-entry grid (T-PAPA-7)', () => {
    const grid = regularizationGrid(3);
    expect(grid).toHaveLength(81);
    expect(new Set(grid.map((g) => JSON.stringify(g))).size).toBe(81);
    expect(regularizationGrid(3)).toEqual(grid);
    expect(regularizationGrid(4)).not.toEqual(grid);
    expect(memberRegularization(5, 3)).toEqual(grid[5]);
    expect(memberRegularization(86, 3)).toEqual(grid[5]);
  });

  it('the final AvgSoup equals the uniform soup (T-PAPA-8)', () => {
    const pop = [member([0.1, 0.7]), member([0.3, -0.2]), member([0.25, 1e-3])];
    expect(Array.from(populationMean(pop).w)).toEqual(Array.from(uniformMean(pop.map((m) => m.w as Float64Array))));
    expect(summarizePopulation({ members: [0.9, 0.8, 0.85], ensemble: 0.92, avgSoup: 0.91, greedySoup: null })).toEqual({
      memberMean: expect.closeTo(0.85, 12),
      memberMin: 0.8,
      memberMax: 0.9,
      ensemble: 0.92,
      avgSoup: 0.91,
      greedySoup: null,
    });
  });
});
