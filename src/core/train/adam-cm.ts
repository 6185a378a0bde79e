import { CoreError } from '../errors';
import { copyArrays, requireFinite, type Optimizer, type OptimizerState, type ParamArrays } from './optimizer-types';

export interface AdamCmOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled (AdamW-style) weight decay. */
  weightDecay?: number;
  /** Capacity C of each parameter's buffer of critical momenta (≥ 1). */
  topC?: number;
  /** Priority decay per step, in [0, 1). */
  decay?: number;
  /** > 0 enables the buffer; 0 means plain Adam. */
  kappa?: number;
  /** One priority for all parameters (the sum of per-tensor gradient norms) instead of one per tensor. */
  synced?: boolean;
  /** Probability of inserting into a full buffer regardless of priority (0: by priority only). */
  criticalTest?: number;
  /** Seed of the draws `criticalTest` uses (part of the state, so resumed runs repeat them). */
  seed?: number;
}

/**
 * Adam with Critical Momenta, as the authors' `Adam_CM`: each parameter keeps up to C past momenta
 * with priorities (a gradient norm, decayed every step) and adds their mean to its momentum.
 * Per step: the first call stores the raw gradient and does not move p; later calls do
 * m ← β1·m + (1−β1)·g, d ← m + mean(buffer) (mean taken before this step's insertion), insert m
 * (or replace the lowest priority when the new one is strictly higher), v ← β2·v + (1−β2)·d²,
 * p ← p − lr/(1−β1^t) · d / (√v/√(1−β2^t) + eps); then every priority is multiplied by `decay`.
 * State per parameter: exp_avg, exp_avg_sq, the buffer [C·n], its running sum, its priorities.
 */
export class AdamCm implements Optimizer {
  private arrays: Record<string, Float32Array | Float64Array> = {};
  private steps = 0;
  private random: number;
  private lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly topC: number;
  private readonly decay: number;
  private readonly buffered: boolean;
  private readonly synced: boolean;
  private readonly criticalTest: number;

  constructor(options: AdamCmOptions) {
    this.lr = requireFinite('lr', options.lr, 0);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.beta1 = requireFinite('betas[0]', b1, 0, 1 - Number.EPSILON);
    this.beta2 = requireFinite('betas[1]', b2, 0, 1 - Number.EPSILON);
    this.eps = requireFinite('eps', options.eps ?? 1e-8, 0);
    this.weightDecay = requireFinite('weightDecay', options.weightDecay ?? 0, 0);
    this.topC = requireFinite('topC', options.topC ?? 5, 1);
    if (!Number.isInteger(this.topC)) throw new CoreError('INVALID_ARGUMENT', `optimizer option topC must be an integer ≥ 1, got ${this.topC}`, { option: 'topC' });
    this.decay = requireFinite('decay', options.decay ?? 0.7, 0, 1 - Number.EPSILON);
    this.buffered = requireFinite('kappa', options.kappa ?? 1, 0) > 0;
    this.synced = options.synced ?? true;
    this.criticalTest = requireFinite('criticalTest', options.criticalTest ?? 0, 0, 1);
    this.random = (options.seed ?? 1) >>> 0 || 1;
  }

  step(params: ParamArrays, grads: ParamArrays): void {
    const norms = new Map<string, number>();
    let total = 0;
    for (const [name, g] of grads) {
      if (!params.has(name)) continue;
      let s = 0;
      for (let i = 0; i < g.length; i++) s += g[i] * g[i];
      const n = Math.fround(Math.sqrt(s));
      norms.set(name, n);
      total += n;
    }
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      this.update(name, p, g, this.synced ? total : (norms.get(name) ?? 0));
    }
    this.steps++;
  }

  private update(name: string, p: Float32Array, g: Float32Array, priority: number): void {
    const { lr, beta1, weightDecay, topC } = this;
    const n = p.length;
    if (weightDecay > 0) for (let i = 0; i < n; i++) p[i] = p[i] * (1 - lr * weightDecay);
    const fresh = this.arrays[`${name}.exp_avg`] === undefined;
    const m = this.slot(`${name}.exp_avg`, n);
    const v = this.slot(`${name}.exp_avg_sq`, n);
    const stepKey = `${name}.step`;
    const t = (this.arrays[stepKey]?.[0] ?? 0) + 1;
    this.arrays[stepKey] = Float64Array.of(t);
    if (!this.buffered) {
      this.adam(p, g, v, t, m);
      return;
    }
    const buffer = this.slot(`${name}.cm_buffer`, topC * n);
    const sum = this.slot(`${name}.cm_sum`, n);
    let priorities = (this.arrays[`${name}.cm_priorities`] as Float64Array | undefined) ?? new Float64Array(0);
    if (fresh) {
      buffer.set(g, 0);
      sum.set(g);
      priorities = Float64Array.of(priority);
    } else {
      for (let i = 0; i < n; i++) m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      const count = priorities.length;
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = m[i] + sum[i] / count;
      let slotIndex = -1;
      if (count < topC) {
        slotIndex = count;
        priorities = Float64Array.of(...priorities, priority);
      } else {
        let lowest = 0;
        for (let c = 1; c < count; c++) if (priorities[c] < priorities[lowest]) lowest = c;
        const forced = this.criticalTest > 0 && this.draw() < this.criticalTest;
        if (forced || priority > priorities[lowest]) {
          slotIndex = lowest;
          priorities[lowest] = priority;
        }
      }
      if (slotIndex >= 0) {
        const at = slotIndex * n;
        for (let i = 0; i < n; i++) {
          sum[i] = sum[i] - (slotIndex < count ? buffer[at + i] : 0) + m[i];
          buffer[at + i] = m[i];
        }
      }
      this.adam(p, d, v, t);
    }
    for (let c = 0; c < priorities.length; c++) priorities[c] *= this.decay;
    this.arrays[`${name}.cm_priorities`] = priorities;
    if (fresh) this.adam(p, new Float32Array(n), v, t);
  }

  /** v ← β2·v + (1−β2)·d², p ← p − lr/(1−β1^t)·d/(√v/√(1−β2^t) + eps); with `m` set, d is first folded into m (plain Adam). */
  private adam(p: Float32Array, d: Float32Array, v: Float32Array, t: number, m?: Float32Array): void {
    const { lr, beta1, beta2, eps } = this;
    const stepSize = lr / (1 - beta1 ** t);
    const correction2 = Math.sqrt(1 - beta2 ** t);
    for (let i = 0; i < p.length; i++) {
      let di = d[i];
      if (m) {
        m[i] = beta1 * m[i] + (1 - beta1) * di;
        di = m[i];
        v[i] = beta2 * v[i] + (1 - beta2) * d[i] * d[i];
      } else {
        v[i] = beta2 * v[i] + (1 - beta2) * di * di;
      }
      const denom = Math.fround(Math.fround(Math.sqrt(v[i]) / correction2) + eps);
      p[i] = p[i] - stepSize * Math.fround(di / denom);
    }
  }

  private slot(key: string, size: number): Float32Array {
    let a = this.arrays[key] as Float32Array | undefined;
    if (!a) {
      a = new Float32Array(size);
      this.arrays[key] = a;
    }
    return a;
  }

  /** xorshift32 in [0, 1). */
  private draw(): number {
    let s = this.random;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.random = s >>> 0 || 1;
    return this.random / 4294967296;
  }

  get learningRate(): number {
    return this.lr;
  }

  setLearningRate(lr: number): void {
    this.lr = requireFinite('lr', lr, 0);
  }

  state(): OptimizerState {
    return { step: this.steps, arrays: { ...copyArrays(this.arrays), 'cm.random': Float64Array.of(this.random) } };
  }

  load(state: OptimizerState): void {
    const { 'cm.random': random, ...arrays } = copyArrays(state.arrays);
    this.steps = state.step;
    this.arrays = arrays;
    if (random) this.random = random[0];
  }
}
