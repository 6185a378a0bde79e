import { mergeTensor } from './merge-math';
import { resolveSoupParameters, type SoupMethod, type SoupParametersInput } from './parameters';
import { breadcrumbsCounts, dropAndRescale } from './sparsify';
import { testValues } from './testing/checkpoints';

/** Plain references, written from the formulas with comparator sorts and no shared code. */
const sub = (a: ArrayLike<number>, b: ArrayLike<number>): number[] => Array.from(a, (v, i) => v - b[i]);

/** Indices by |value| descending, ties by index ascending (the engine's documented order). */
function rankDescending(v: readonly number[]): number[] {
  return v.map((_, i) => i).sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]) || a - b);
}

function refTrim(delta: number[], density: number): number[] {
  if (density >= 1) return delta;
  const keep = new Set(rankDescending(delta).slice(0, Math.floor(density * delta.length)));
  return delta.map((x, i) => (keep.has(i) ? x : 0));
}

function refBreadcrumbs(delta: number[], density: number, gamma: number): number[] {
  if (density >= 1) return delta;
  const n = delta.length;
  const kept = Math.floor(density * n);
  const top = Math.min(Math.floor(gamma * n), n - kept);
  const keep = new Set(rankDescending(delta).slice(top, top + kept));
  return delta.map((x, i) => (keep.has(i) ? x : 0));
}

/** Σ w_i δ_i, with optional sign election and normalization, times λ, plus the base. */
function refCombine(base: ArrayLike<number>, deltas: number[][], weights: number[], opts: { elect: boolean; normalize: boolean; lambda: number }): number[] {
  return Array.from(base, (b, j) => {
    const w = deltas.map((d, i) => weights[i] * d[j]);
    const majority = w.reduce((a, c) => a + c, 0) >= 0 ? 1 : -1;
    const chosen = w.map((x) => !opts.elect || Math.sign(x) === majority);
    const mixed = w.reduce((a, x, i) => a + (chosen[i] ? x : 0), 0);
    const divisor = weights.reduce((a, x, i) => a + (chosen[i] ? x : 0), 0);
    const scaled = opts.normalize ? mixed / (Math.abs(divisor) < 1e-8 ? 1 : divisor) : mixed;
    return b + opts.lambda * scaled;
  });
}

function run(method: SoupMethod, base: Float64Array | null, models: Float64Array[], input: SoupParametersInput, shape: number[] = [models[0].length]): Float64Array {
  const p = resolveSoupParameters(method, models.length, base !== null, input);
  return mergeTensor(method, p, { name: 'w', shape, base, models });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

const f64 = (n: number, seed: number): Float64Array => Float64Array.from(testValues(n, seed));
const base = f64(200, 1);
const models = [2, 3, 4].map((s) => Float64Array.from(f64(200, s), (v, i) => base[i] + 0.1 * v));
const weights = [0.5, 1, -0.25];

describe('merge methods against references from the formulas', () => {
  it('task arithmetic: base + λ·Σ w_i δ_i, normalized by Σ w_i on request', () => {
    const deltas = models.map((m) => sub(m, base));
    expectClose(run('task-arithmetic', base, models, { weights, lambda: 0.7 }), refCombine(base, deltas, weights, { elect: false, normalize: false, lambda: 0.7 }));
    expectClose(run('task-arithmetic', base, models, { weights, normalize: true }), refCombine(base, deltas, weights, { elect: false, normalize: true, lambda: 1 }));
    // A weight sum below 1e-8 divides by 1.
    expectClose(run('task-arithmetic', base, models.slice(0, 2), { weights: [1, -1], normalize: true }), refCombine(base, deltas.slice(0, 2), [1, -1], { elect: false, normalize: false, lambda: 1 }));
  });

  it('TIES: magnitude trim, sign election, disjoint mean (normalize on by default)', () => {
    const densities = [0.3, 0.5, 0.8];
    const deltas = models.map((m, i) => refTrim(sub(m, base), densities[i]));
    expectClose(run('ties', base, models, { weights, densities, lambda: 1.5 }), refCombine(base, deltas, weights, { elect: true, normalize: true, lambda: 1.5 }));
    expectClose(run('ties', base, models, { weights, density: 0.4, normalize: false }), refCombine(base, models.map((m) => refTrim(sub(m, base), 0.4)), weights, { elect: true, normalize: false, lambda: 1 }));
  });

  it('TIES by hand: trimmed entries never vote, a zero sum elects +', () => {
    const b = new Float64Array([0, 0, 0, 0]);
    const x1 = new Float64Array([3, -1, 0.5, 2]);
    const x2 = new Float64Array([-1, -2, 4, -2]);
    // density 0.5 keeps x1 → [3, 0, 0, 2], x2 → [0, -2, 4, -2]; signs: +, −, +, (2 − 2 = 0 → +).
    const merged = run('ties', b, [x1, x2], { density: 0.5 });
    expect(Array.from(merged)).toEqual([3, -2, 4, 2]);
  });

  it('breadcrumbs: drops the γ·n largest and the smallest, keeps ⌊d·n⌋; default equals task arithmetic', () => {
    const deltas = models.map((m) => refBreadcrumbs(sub(m, base), 0.8, 0.05));
    expectClose(run('breadcrumbs', base, models, { weights, density: 0.8, gamma: 0.05 }), refCombine(base, deltas, weights, { elect: false, normalize: false, lambda: 1 }));
    expectClose(run('breadcrumbs-ties', base, models, { weights, density: 0.8, gamma: 0.05 }), refCombine(base, deltas, weights, { elect: true, normalize: false, lambda: 1 }));
    expect(Array.from(run('breadcrumbs', base, models, { weights }))).toEqual(Array.from(run('task-arithmetic', base, models, { weights })));
    // d + γ > 1: fewer removed from the top; ⌊γ·n⌋ = 0 removes none from the top (and never the whole tensor).
    expect(breadcrumbsCounts(100, 0.95, 0.1)).toEqual({ bottom: 0, top: 5 });
    expect(breadcrumbsCounts(10, 0.5, 0.01)).toEqual({ bottom: 5, top: 0 });
    const small = run('breadcrumbs', new Float64Array(10), [Float64Array.from({ length: 10 }, (_, i) => i + 1)], { density: 0.5 });
    expect(Array.from(small)).toEqual([0, 0, 0, 0, 0, 6, 7, 8, 9, 10]);
  });

  it('DARE: kept fraction within 0.5% of the density, exact L1 rescale, reproducible by seed', () => {
    const n = 200_000;
    const delta = Float64Array.from(testValues(n, 9));
    const l1 = (v: Float64Array): number => v.reduce((a, x) => a + Math.abs(x), 0);
    const same = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    for (const density of [0.1, 0.3, 0.7]) {
      const d = delta.slice();
      dropAndRescale(d, density, true, 42, 'stat');
      const kept = d.filter((x) => x !== 0).length / n;
      expect(Math.abs(kept - density)).toBeLessThan(0.005);
      expect(Math.abs(l1(d) - l1(delta)) / l1(delta)).toBeLessThan(1e-12);
      const again = delta.slice();
      dropAndRescale(again, density, true, 42, 'stat');
      expect(same(again, d)).toBe(true);
      const other = delta.slice();
      dropAndRescale(other, density, true, 43, 'stat');
      expect(same(other, d)).toBe(false);
      // Without rescale the survivors keep their values.
      const plain = delta.slice();
      dropAndRescale(plain, density, false, 42, 'stat');
      expect(plain.every((x, i) => x === 0 || x === delta[i])).toBe(true);
      expect(plain.filter((x) => x !== 0).length).toBe(d.filter((x) => x !== 0).length);
    }
  });

  it('DARE at density 1 equals task arithmetic (dare-linear) and TIES without trimming (dare-ties)', () => {
    expect(Array.from(run('dare-linear', base, models, { weights, density: 1 }))).toEqual(Array.from(run('task-arithmetic', base, models, { weights })));
    expect(Array.from(run('dare-ties', base, models, { weights, normalize: true }))).toEqual(Array.from(run('ties', base, models, { weights })));
    const dare = run('dare-linear', base, models, { weights, density: 0.5, seed: 3 });
    expect(Array.from(dare)).not.toEqual(Array.from(run('task-arithmetic', base, models, { weights })));
  });

  it('SLERP: endpoints, the spherical formula, and lerp for near-parallel tensors', () => {
    const x0 = f64(64, 11);
    const x1 = f64(64, 12);
    const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
    const dot = Array.from(x0).reduce((a, v, i) => a + (v / norm(x0)) * (x1[i] / norm(x1)), 0);
    const theta = Math.acos(dot);
    const t = 0.3;
    const want = Array.from(x0, (v, i) => (Math.sin((1 - t) * theta) / Math.sin(theta)) * v + (Math.sin(t * theta) / Math.sin(theta)) * x1[i]);
    expectClose(run('slerp', x0, [x1], { t }), want);
    expectClose(run('slerp', x0, [x1], { t: 0 }), x0);
    expectClose(run('slerp', x0, [x1], { t: 1 }), x1);
    const near = Float64Array.from(x0, (v) => 2 * v + 1e-6);
    expectClose(run('slerp', x0, [near], { t }), Array.from(x0, (v, i) => 0.7 * v + 0.3 * near[i]));
  });

  it('Model Stock: t = N·cos/(1 + (N − 1)·cos) from the mean pairwise cosine; per row with filterWise', () => {
    const refStock = (rows: number): number[] => {
      const out: number[] = [];
      const width = base.length / rows;
      for (let r = 0; r < rows; r++) {
        const idx = Array.from({ length: width }, (_, k) => r * width + k);
        const d = models.map((m) => idx.map((j) => m[j] - base[j]));
        const cos = (a: number[], b: number[]): number =>
          a.reduce((s, x, k) => s + x * b[k], 0) / Math.max(Math.hypot(...a) * Math.hypot(...b), 1e-6);
        const c = (cos(d[0], d[1]) + cos(d[0], d[2]) + cos(d[1], d[2])) / 3;
        const t = (3 * c) / (1 + 2 * c);
        for (const j of idx) out.push(t * ((models[0][j] + models[1][j] + models[2][j]) / 3) + (1 - t) * base[j]);
      }
      return out;
    };
    expectClose(run('model-stock', base, models, {}, [10, 20]), refStock(1));
    expectClose(run('model-stock', base, models, { filterWise: true }, [10, 20]), refStock(10));
    // Identical offsets (cos = 1) give t = 1: the plain mean.
    const same = [models[0], models[0]];
    expectClose(run('model-stock', base, same, {}), models[0]);
  });
});
