import { learningRateAt } from './schedules';

describe('learningRateAt (PyTorch schedulers, closed form)', () => {
  it('constant', () => {
    expect([0, 5, 99].map((s) => learningRateAt({ name: 'constant' }, 0.1, s, 100))).toEqual([0.1, 0.1, 0.1]);
  });

  it('StepLR: gamma every stepSize steps', () => {
    const lrs = [0, 2, 3, 5, 6, 9].map((s) => learningRateAt({ name: 'step', stepSize: 3, gamma: 0.5 }, 0.8, s, 10));
    expect(lrs).toEqual([0.8, 0.8, 0.4, 0.4, 0.2, 0.1]);
  });

  it('CosineAnnealingLR to minLr over totalSteps', () => {
    // eta_t = eta_min + (eta_0 − eta_min)(1 + cos(π t / T))/2, T = 8: t=2 → cos(π/4), t=4 → 0.
    const lr = (s: number) => learningRateAt({ name: 'cosine', minLr: 0.01 }, 0.1, s, 8);
    expect(lr(0)).toBeCloseTo(0.1, 15);
    expect(lr(2)).toBeCloseTo(0.01 + 0.09 * (1 + Math.SQRT1_2) / 2, 15);
    expect(lr(4)).toBeCloseTo(0.055, 15);
    expect(lr(7)).toBeCloseTo(0.01 + 0.09 * (1 + Math.cos((7 * Math.PI) / 8)) / 2, 15);
  });

  it('LinearLR warm-up, then the main schedule from its start (SequentialLR)', () => {
    // start factor 0.25 over 4 steps: 0.25, 0.4375, 0.625, 0.8125 (× lr); then cosine over 10 − 4 = 6 steps.
    const schedule = { name: 'cosine' as const, warmupSteps: 4, warmupStartFactor: 0.25 };
    const lr = (s: number) => learningRateAt(schedule, 0.2, s, 10);
    expect([0, 1, 2, 3].map(lr).map((v) => v / 0.2)).toEqual([0.25, 0.4375, 0.625, 0.8125]);
    expect(lr(4)).toBeCloseTo(0.2, 15);
    expect(lr(7)).toBeCloseTo(0.1, 15); // t = 3 of T = 6
    expect(learningRateAt({ name: 'step', stepSize: 2, gamma: 0.1, warmupSteps: 3 }, 1, 3 + 2, 20)).toBeCloseTo(0.1, 15);
    // torch's default start factor is 1/3.
    expect(learningRateAt({ name: 'constant', warmupSteps: 2 }, 0.3, 0, 10)).toBeCloseTo(0.1, 15);
  });
});
