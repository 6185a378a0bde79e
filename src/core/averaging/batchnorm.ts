import { CoreError } from '../errors';

/**
 * BatchNorm after averaging: the starting point of a recalibration, a cumulative-average
 * statistics accumulator, REPAIR's targets, and folding an affine correction into a layer.
 * Everything here is plain math over per-channel arrays; collecting activations needs running
 * the model and is the caller's part (see README).
 */

/** A state as a map of PyTorch names to values; integer buffers are BigInt64Array or Int32Array. */
export type NamedArrays = Record<string, Float32Array | Float64Array | Int32Array | BigInt64Array>;

/** The BatchNorm layers of a state: prefixes that have running_mean and running_var. */
export function batchNormPrefixes(state: NamedArrays): string[] {
  return Object.keys(state)
    .filter((k) => k.endsWith('.running_mean') && `${k.slice(0, -'running_mean'.length)}running_var` in state)
    .map((k) => k.slice(0, -'.running_mean'.length));
}

/**
 * What a recalibration starts from: every BatchNorm's running mean set to 0, running variance to
 * 1 and num_batches_tracked to 0 (PyTorch's reset_running_stats), in a copy of the state.
 */
export function resetBatchNormStatistics(state: NamedArrays): NamedArrays {
  const out: NamedArrays = { ...state };
  for (const prefix of batchNormPrefixes(state)) {
    const mean = state[`${prefix}.running_mean`];
    const variance = state[`${prefix}.running_var`];
    out[`${prefix}.running_mean`] = new (mean.constructor as Float32ArrayConstructor)(mean.length) as typeof mean;
    out[`${prefix}.running_var`] = (new (variance.constructor as Float32ArrayConstructor)(variance.length) as Float32Array).fill(1);
    const tracked = state[`${prefix}.num_batches_tracked`];
    if (tracked) out[`${prefix}.num_batches_tracked`] = tracked instanceof BigInt64Array ? new BigInt64Array(tracked.length) : new Int32Array(tracked.length);
  }
  return out;
}

/**
 * Per-channel statistics averaged over calibration batches with equal weight (a cumulative
 * average, not an EMA): after B batches, mean = (1/B) Σ batch means, and likewise the variance.
 */
export class CumulativeStatistics {
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  batches = 0;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.variance = new Float64Array(channels).fill(1);
  }

  /** Adds one batch's per-channel mean and variance: stat ← stat + (batch − stat)/b. */
  add(batchMean: ArrayLike<number>, batchVariance: ArrayLike<number>): void {
    if (batchMean.length !== this.channels || batchVariance.length !== this.channels) {
      throw new CoreError('INVALID_ARGUMENT', `expected ${this.channels} channels, got ${batchMean.length} and ${batchVariance.length}`);
    }
    this.batches++;
    for (let c = 0; c < this.channels; c++) {
      this.mean[c] += (batchMean[c] - this.mean[c]) / this.batches;
      this.variance[c] += (batchVariance[c] - this.variance[c]) / this.batches;
    }
  }
}

/**
 * Per-channel mean and variance of activations laid out [N, C, ...] (NCHW), over N and the
 * spatial positions. `unbiased` divides by count − 1 (PyTorch's running_var convention).
 */
export function channelStatistics(values: ArrayLike<number>, shape: readonly number[], unbiased = true): { mean: Float64Array; variance: Float64Array } {
  const [batch, channels] = shape;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const count = batch * inner;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let b = 0; b < batch; b++) for (let i = 0, o = (b * channels + c) * inner; i < inner; i++) sum += values[o + i];
    const m = sum / count;
    let sq = 0;
    for (let b = 0; b < batch; b++) for (let i = 0, o = (b * channels + c) * inner; i < inner; i++) sq += (values[o + i] - m) ** 2;
    mean[c] = m;
    variance[c] = sq / Math.max(1, unbiased ? count - 1 : count);
  }
  return { mean, variance };
}

/** Variance of the α-interpolation of two units with stds σ0, σ1 and correlation ρ ("variance collapse"). */
export function interpolatedVariance(alpha: number, sigma0: number, sigma1: number, rho: number): number {
  return alpha ** 2 * sigma0 ** 2 + (1 - alpha) ** 2 * sigma1 ** 2 + 2 * alpha * (1 - alpha) * rho * sigma0 * sigma1;
}

/** REPAIR's per-channel targets for a child of p parents: weighted means and weighted standard deviations. */
export function repairTargets(parents: readonly { mean: ArrayLike<number>; std: ArrayLike<number> }[], weights: readonly number[]): { mean: Float64Array; std: Float64Array } {
  if (parents.length === 0 || parents.length !== weights.length) throw new CoreError('INVALID_ARGUMENT', `${weights.length} weights for ${parents.length} parents`);
  const channels = parents[0].mean.length;
  const mean = new Float64Array(channels);
  const std = new Float64Array(channels);
  parents.forEach((p, j) => {
    if (p.mean.length !== channels || p.std.length !== channels) throw new CoreError('INVALID_ARGUMENT', `parent ${j} has another channel count`);
    for (let c = 0; c < channels; c++) {
      mean[c] += weights[j] * p.mean[c];
      std[c] += weights[j] * p.std[c];
    }
  });
  return { mean, std };
}

/** A layer whose output channel is the first axis of its weight (PyTorch conv [out, in, kh, kw], linear [out, in]). */
export interface AffineLayer {
  weight: Float64Array | Float32Array;
  /** null for a bias-free layer: folding always creates one. */
  bias: Float64Array | Float32Array | null;
  outChannels: number;
}

/**
 * Folds a per-channel affine map y' = scale·(y − shift) + offset into the layer producing y:
 * W' = W·scale, b' = offset + scale·(b − shift). A bias-free layer gets a bias, so the shift is
 * never dropped.
 */
export function foldAffine(layer: AffineLayer, scale: ArrayLike<number>, shift: ArrayLike<number>, offset: ArrayLike<number>): { weight: Float64Array; bias: Float64Array } {
  const { outChannels } = layer;
  const per = layer.weight.length / outChannels;
  const weight = new Float64Array(layer.weight.length);
  const bias = new Float64Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    for (let i = c * per; i < (c + 1) * per; i++) weight[i] = layer.weight[i] * scale[c];
    bias[c] = offset[c] + scale[c] * ((layer.bias ? layer.bias[c] : 0) - shift[c]);
  }
  return { weight, bias };
}

/** Folds an eval-mode BatchNorm (γ, β, running mean and variance, ε) into the layer before it. */
export function foldBatchNorm(
  layer: AffineLayer,
  bn: { gamma: ArrayLike<number>; beta: ArrayLike<number>; mean: ArrayLike<number>; variance: ArrayLike<number>; eps?: number },
): { weight: Float64Array; bias: Float64Array } {
  const eps = bn.eps ?? 1e-5;
  const scale = Array.from(bn.gamma, (g, c) => g / Math.sqrt(bn.variance[c] + eps));
  return foldAffine(layer, scale, bn.mean, bn.beta);
}

/**
 * REPAIR for one layer of the child: given its measured output mean m and variance v on the
 * calibration data and the targets (μ*, σ*), W' = W·σ* / √(v + ε), b' = μ* + σ* / √(v + ε)·(b − m).
 */
export function repairLayer(
  layer: AffineLayer,
  measured: { mean: ArrayLike<number>; variance: ArrayLike<number> },
  target: { mean: ArrayLike<number>; std: ArrayLike<number> },
  eps = 1e-5,
): { weight: Float64Array; bias: Float64Array } {
  const scale = Array.from(target.std, (s, c) => s / Math.sqrt(measured.variance[c] + eps));
  return foldAffine(layer, scale, measured.mean, target.mean);
}
