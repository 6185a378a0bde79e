import type { Optimizer } from './optimizer-types';
import { Adam, AdamW, Sgd } from './optimizers';

/** Runs `steps` updates of one scalar parameter with the given gradients. */
function run(opt: Optimizer, p0: number, grads: number[]): number[] {
  const p = Float32Array.of(p0);
  return grads.map((g) => {
    opt.step(new Map([['p', p]]), new Map([['p', Float32Array.of(g)]]));
    return p[0];
  });
}

const close = (actual: number[], expected: number[]) => actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));

describe('SGD (torch.optim.SGD semantics)', () => {
  it('plain: p − lr·g', () => {
    close(run(new Sgd({ lr: 0.1 }), 1, [2, 2]), [0.8, 0.6]);
  });

  it('momentum: the buffer starts as the gradient, then momentum·buf + (1 − dampening)·g', () => {
    // buf = 2 → p = 1 − 0.2; buf = 0.9·2 + 0.5·2 = 2.8 → p = 0.8 − 0.28.
    close(run(new Sgd({ lr: 0.1, momentum: 0.9, dampening: 0.5 }), 1, [2, 2]), [0.8, 0.52]);
  });

  it('Nesterov: the step is g + momentum·buf', () => {
    // step 1: buf = 2, d = 2 + 1.8 = 3.8; step 2: buf = 3.8, d = 2 + 3.42 = 5.42.
    close(run(new Sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), 1, [2, 2]), [0.62, 0.078]);
  });

  it('weight decay is added to the gradient', () => {
    close(run(new Sgd({ lr: 0.1, weightDecay: 0.5 }), 1, [0]), [0.95]);
  });

  it('rejects Nesterov without momentum and non-finite rates', () => {
    expect(() => new Sgd({ lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Sgd({ lr: Infinity })).toThrow(/lr/);
  });
});

describe('Adam and AdamW (torch.optim semantics)', () => {
  it('Adam: the first steps move by lr·sign(g) when g is constant', () => {
    close(run(new Adam({ lr: 0.1 }), 1, [3, 3]), [0.9, 0.8]);
  });

  it('Adam: L2 weight decay is added to the gradient (so it is normalized away in step 1)', () => {
    close(run(new Adam({ lr: 0.1, weightDecay: 1 }), 1, [0]), [0.9]);
  });

  it('AdamW: decoupled decay p·(1 − lr·wd) before the Adam step', () => {
    close(run(new AdamW({ lr: 0.1, weightDecay: 0.5 }), 1, [3]), [0.95 - 0.1]);
  });

  it('saves and restores its state, continuing the same trajectory', () => {
    const grads = [1, -2, 0.5, 3];
    const full = run(new Adam({ lr: 0.1 }), 1, grads);
    const a = new Adam({ lr: 0.1 });
    const p = run(a, 1, grads.slice(0, 2))[1];
    const b = new Adam({ lr: 0.1 });
    b.load(a.state());
    expect(run(b, p, grads.slice(2))).toEqual(full.slice(2));
  });
});
