import {
  channelStatistics,
  CumulativeStatistics,
  foldAffine,
  foldBatchNorm,
  interpolatedVariance,
  repairLayer,
  repairTargets,
  resetBatchNormStatistics,
  type AffineLayer,
} from './batchnorm';
import { testValues } from './testing/checkpoints';

describe('BatchNorm after averaging', () => {
  it('variance collapse: (1 + ρ)/2 at the midpoint; 2.6125 for α 0.25, σ 1 and 2, ρ 0.4 (T-BN-1)', () => {
    expect([0, 0.4, 0.8, 1].map((rho) => interpolatedVariance(0.5, 1, 1, rho))).toEqual([0.5, 0.7, 0.9, 1].map((v) => expect.closeTo(v, 12)));
    expect(interpolatedVariance(0.25, 1, 2, 0.4)).toBeCloseTo(2.6125, 12);
    expect(repairTargets([{ mean: [0], std: [1] }, { mean: [0], std: [2] }], [0.75, 0.25]).std[0]).toBeCloseTo(1.25, 12);
  });

  it('REPAIR targets interpolate standard deviations, not variances (T-BN-2)', () => {
    const parents = [0, 1, 2].map((m, j) => ({ mean: [m], std: [j + 1] }));
    const { mean, std } = repairTargets(parents, [1 / 3, 1 / 3, 1 / 3]);
    expect(mean[0]).toBeCloseTo(1, 12);
    expect(std[0]).toBeCloseTo(2, 12);
  });

  it('folds a BatchNorm into its layer, creating the bias of a bias-free layer (T-BN-3)', () => {
    const bn = { gamma: [1.5], beta: [0.1], mean: [0.3], variance: [4], eps: 1e-5 };
    const x = 1.7;
    const unfolded = (1.5 * (2 * x + 0.5 - 0.3)) / Math.sqrt(4 + 1e-5) + 0.1;
    const folded = foldBatchNorm({ weight: new Float64Array([2]), bias: new Float64Array([0.5]), outChannels: 1 }, bn);
    expect(unfolded).toBeCloseTo(2.79999663, 8);
    expect(folded.weight[0] * x + folded.bias[0]).toBeCloseTo(2.79999663, 8);
    const noBias = foldBatchNorm({ weight: new Float64Array([2]), bias: null, outChannels: 1 }, bn);
    const reference = (1.5 * (2 * x - 0.3)) / Math.sqrt(4 + 1e-5) + 0.1;
    expect(noBias.weight[0] * x + noBias.bias[0]).toBeCloseTo(reference, 12);
    expect(noBias.bias[0]).not.toBe(0);
  });

  it('recalibration starts from mean 0, variance 1, no batches; other tensors untouched', () => {
    const state = {
      'conv.weight': new Float32Array([1, 2]),
      'bn.weight': new Float32Array([1, 1]),
      'bn.running_mean': new Float32Array([0.4, -0.2]),
      'bn.running_var': new Float32Array([2, 3]),
      'bn.num_batches_tracked': new BigInt64Array([300n]),
    };
    const reset = resetBatchNormStatistics(state);
    expect(Array.from(reset['bn.running_mean'] as Float32Array)).toEqual([0, 0]);
    expect(Array.from(reset['bn.running_var'] as Float32Array)).toEqual([1, 1]);
    expect(reset['bn.num_batches_tracked']).toEqual(new BigInt64Array([0n]));
    expect(reset['conv.weight']).toBe(state['conv.weight']);
    expect(Array.from(state['bn.running_var'])).toEqual([2, 3]);
  });

  it('accumulates a cumulative average, not an EMA; the same data twice give the same stats (T-BN-4, T-BN-5)', () => {
    const batchMeans = [[1, 10], [2, 20], [6, 60]];
    const batchVars = [[1, 1], [2, 2], [3, 9]];
    const feed = (): CumulativeStatistics => {
      const s = new CumulativeStatistics(2);
      batchMeans.forEach((m, b) => s.add(m, batchVars[b]));
      return s;
    };
    const first = feed();
    expect(Array.from(first.mean)).toEqual([3, 30]);
    expect(Array.from(first.variance)).toEqual([2, 4]);
    const second = feed();
    expect(Array.from(second.mean)).toEqual(Array.from(first.mean));
    expect(Array.from(second.variance)).toEqual(Array.from(first.variance));
  });

  it('REPAIR restores every repaired channel\'s statistics to the targets on a 2-layer net (T-BN-6)', () => {
    const n = 256;
    const dims = [6, 5, 4];
    const x = testValues(n * dims[0], 7);
    const layer = (w: ArrayLike<number>, b: ArrayLike<number>, input: ArrayLike<number>, inDim: number, outDim: number, relu: boolean): Float64Array => {
      const out = new Float64Array(n * outDim);
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outDim; o++) {
          let s = b[o];
          for (let i = 0; i < inDim; i++) s += w[o * inDim + i] * input[r * inDim + i];
          out[r * outDim + o] = relu ? Math.max(0, s) : s;
        }
      }
      return out;
    };
    const parent = (seed: number): { w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array } => ({
      w1: Float64Array.from(testValues(30, seed)),
      b1: Float64Array.from(testValues(5, seed + 1)),
      w2: Float64Array.from(testValues(20, seed + 2)),
      b2: Float64Array.from(testValues(4, seed + 3)),
    });
    const stats = (values: Float64Array, channels: number) => {
      const s = channelStatistics(values, [n, channels]);
      return { mean: s.mean, std: s.variance.map(Math.sqrt), variance: s.variance };
    };
    const parents = [parent(11), parent(23)];
    const pre1 = parents.map((p) => stats(layer(p.w1, p.b1, x, 6, 5, false), 5));
    const pre2 = parents.map((p) => stats(layer(p.w2, p.b2, layer(p.w1, p.b1, x, 6, 5, true), 5, 4, false), 4));
    const mid = (k: 'w1' | 'b1' | 'w2' | 'b2'): Float64Array => parents[0][k].map((v, i) => 0.5 * v + 0.5 * parents[1][k][i]);
    const target1 = repairTargets(pre1, [0.5, 0.5]);
    const target2 = repairTargets(pre2, [0.5, 0.5]);

    const child1: AffineLayer = { weight: mid('w1'), bias: mid('b1'), outChannels: 5 };
    const fixed1 = repairLayer(child1, stats(layer(child1.weight, child1.bias!, x, 6, 5, false), 5), target1, 0);
    const hidden = layer(fixed1.weight, fixed1.bias, x, 6, 5, true);
    const child2: AffineLayer = { weight: mid('w2'), bias: null, outChannels: 4 };
    const before = stats(layer(child2.weight, new Float64Array(4), hidden, 5, 4, false), 4);
    const fixed2 = repairLayer(child2, before, target2, 0);

    const after1 = stats(layer(fixed1.weight, fixed1.bias, x, 6, 5, false), 5);
    const after2 = stats(layer(fixed2.weight, fixed2.bias, hidden, 5, 4, false), 4);
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
    for (let c = 0; c < 5; c++) {
      expect(rel(after1.mean[c], target1.mean[c])).toBeLessThan(1e-3);
      expect(rel(after1.std[c], target1.std[c])).toBeLessThan(1e-3);
    }
    for (let c = 0; c < 4; c++) {
      expect(rel(after2.mean[c], target2.mean[c])).toBeLessThan(1e-3);
      expect(rel(after2.std[c], target2.std[c])).toBeLessThan(1e-3);
    }
    // The collapse REPAIR fixes was there: the averaged net's second layer had less spread than the targets.
    expect(before.std.some((s, c) => s < 0.99 * target2.std[c])).toBe(true);
  });

  it('foldAffine shifts, scales and offsets per output channel', () => {
    const folded = foldAffine({ weight: new Float64Array([1, 2, 3, 4]), bias: new Float64Array([1, -1]), outChannels: 2 }, [2, 3], [0.5, 1], [10, 20]);
    expect(Array.from(folded.weight)).toEqual([2, 4, 9, 12]);
    expect(Array.from(folded.bias)).toEqual([10 + 2 * 0.5, 20 + 3 * -2]);
  });
});
