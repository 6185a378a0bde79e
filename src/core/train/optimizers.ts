import { copyArrays, requireFinite, type Optimizer, type OptimizerState, type ParamArrays } from './optimizer-types';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** A per-parameter state array, made on first use. */
function slot(arrays: Record<string, Float32Array | Float64Array>, key: string, size: number): Float32Array {
  let a = arrays[key] as Float32Array | undefined;
  if (!a) {
    a = new Float32Array(size);
    arrays[key] = a;
  }
  return a;
}

/**
 * torch.optim.SGD: weight decay added to the gradient; the momentum buffer starts as the gradient
 * itself on the first step, then buf = momentum·buf + (1 − dampening)·g; Nesterov uses g + momentum·buf.
 */
export class Sgd implements Optimizer {
  private arrays: Record<string, Float32Array | Float64Array> = {};
  private steps = 0;
  private lr: number;
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;

  constructor(options: SgdOptions) {
    this.lr = requireFinite('lr', options.lr, 0);
    this.momentum = requireFinite('momentum', options.momentum ?? 0, 0);
    this.dampening = requireFinite('dampening', options.dampening ?? 0, 0, 1);
    this.weightDecay = requireFinite('weightDecay', options.weightDecay ?? 0, 0);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      requireFinite('momentum (Nesterov needs momentum > 0 and no dampening)', NaN);
    }
  }

  step(params: ParamArrays, grads: ParamArrays): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = this;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      const first = this.arrays[`${name}.momentum_buffer`] === undefined;
      const buf = momentum > 0 ? slot(this.arrays, `${name}.momentum_buffer`, p.length) : undefined;
      for (let i = 0; i < p.length; i++) {
        let d = Math.fround(g[i] + weightDecay * p[i]);
        if (buf) {
          buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
          d = nesterov ? Math.fround(d + momentum * buf[i]) : buf[i];
        }
        p[i] = p[i] - lr * d;
      }
    }
    this.steps++;
  }

  get learningRate(): number {
    return this.lr;
  }

  setLearningRate(lr: number): void {
    this.lr = requireFinite('lr', lr, 0);
  }

  state(): OptimizerState {
    return { step: this.steps, arrays: copyArrays(this.arrays) };
  }

  load(state: OptimizerState): void {
    this.steps = state.step;
    this.arrays = copyArrays(state.arrays);
  }
}

/**
 * torch.optim.Adam (L2 weight decay added to the gradient) or, with `decoupled`, torch.optim.AdamW
 * (p ← p·(1 − lr·wd) before the update). Bias corrections as PyTorch:
 * p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps).
 */
export class Adam implements Optimizer {
  private arrays: Record<string, Float32Array | Float64Array> = {};
  private steps = 0;
  private lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(
    options: AdamOptions,
    private readonly decoupled = false,
  ) {
    this.lr = requireFinite('lr', options.lr, 0);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.beta1 = requireFinite('betas[0]', b1, 0, 1 - Number.EPSILON);
    this.beta2 = requireFinite('betas[1]', b2, 0, 1 - Number.EPSILON);
    this.eps = requireFinite('eps', options.eps ?? 1e-8, 0);
    this.weightDecay = requireFinite('weightDecay', options.weightDecay ?? (decoupled ? 0.01 : 0), 0);
  }

  step(params: ParamArrays, grads: ParamArrays): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupled } = this;
    const t = this.steps + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const correction2 = Math.sqrt(1 - beta2 ** t);
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = slot(this.arrays, `${name}.exp_avg`, p.length);
      const v = slot(this.arrays, `${name}.exp_avg_sq`, p.length);
      for (let i = 0; i < p.length; i++) {
        if (decoupled) p[i] = p[i] * (1 - lr * weightDecay);
        const gi = decoupled ? g[i] : Math.fround(g[i] + weightDecay * p[i]);
        m[i] = m[i] + (1 - beta1) * (gi - m[i]);
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        const denom = Math.fround(Math.fround(Math.sqrt(v[i]) / correction2) + eps);
        p[i] = p[i] - stepSize * Math.fround(m[i] / denom);
      }
    }
    this.steps = t;
  }

  get learningRate(): number {
    return this.lr;
  }

  setLearningRate(lr: number): void {
    this.lr = requireFinite('lr', lr, 0);
  }

  state(): OptimizerState {
    return { step: this.steps, arrays: copyArrays(this.arrays) };
  }

  load(state: OptimizerState): void {
    this.steps = state.step;
    this.arrays = copyArrays(state.arrays);
  }
}

export class AdamW extends Adam {
  constructor(options: AdamOptions) {
    super(options, true);
  }
}
