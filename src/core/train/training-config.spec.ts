import { AdamCm } from './adam-cm';
import { Adam, AdamW, Sgd } from './optimizers';
import { createOptimizer, parseTrainingConfig, trainingConfigHash } from './training-config';

const base = { optimizer: { name: 'sgd', lr: 0.1 }, batchSize: 32, epochs: 2 };

function refusal(value: unknown): { code?: string; message?: string; details?: { path?: string } } {
  try {
    parseTrainingConfig(value);
  } catch (e) {
    return e as { code: string; message: string; details: { path: string } };
  }
  throw new Error('accepted');
}

describe('parseTrainingConfig', () => {
  it('fills the defaults and keeps what is given', () => {
    expect(parseTrainingConfig(base)).toEqual({
      optimizer: { name: 'sgd', lr: 0.1 },
      schedule: { name: 'constant' },
      batchSize: 32,
      epochs: 2,
      shuffle: true,
      augment: {},
      seed: 0,
      labelSmoothing: 0,
    });
    const full = {
      optimizer: { name: 'adam-cm', lr: 0.001, betas: [0.9, 0.99], eps: 1e-6, weightDecay: 0.01, topC: 3, decay: 0.5 },
      schedule: { name: 'cosine', warmupSteps: 10, warmupStartFactor: 0.1, minLr: 1e-5 },
      batchSize: 128,
      steps: 1000,
      shuffle: false,
      augment: { randomCrop: { padding: 4 }, horizontalFlip: true },
      seed: 42,
      labelSmoothing: 0.1,
    };
    expect(parseTrainingConfig(full)).toEqual(full);
  });

  it.each([
    ['an unknown top-level key', { ...base, lr: 0.1 }, 'lr', /unknown option/],
    ['an option of another optimizer', { ...base, optimizer: { name: 'sgd', lr: 0.1, topC: 5 } }, 'optimizer.topC', /not an option of sgd/],
    ['momentum for adam', { ...base, optimizer: { name: 'adam', lr: 0.1, momentum: 0.9 } }, 'optimizer.momentum', /not an option of adam/],
    ['an unknown optimizer', { ...base, optimizer: { name: 'rmsprop', lr: 0.1 } }, 'optimizer.name', /one of sgd, adam, adamw, adam-cm/],
    ['a non-finite lr', { ...base, optimizer: { name: 'sgd', lr: Infinity } }, 'optimizer.lr', /finite/],
    ['a NaN momentum', { ...base, optimizer: { name: 'sgd', lr: 0.1, momentum: NaN } }, 'optimizer.momentum', /finite/],
    ['a zero lr', { ...base, optimizer: { name: 'sgd', lr: 0 } }, 'optimizer.lr', /\(0, /],
    ['a string lr', { ...base, optimizer: { name: 'sgd', lr: '0.1' } }, 'optimizer.lr', /finite number/],
    ['nesterov without momentum', { ...base, optimizer: { name: 'sgd', lr: 0.1, nesterov: true } }, 'optimizer.nesterov', /momentum > 0/],
    ['a fractional topC', { ...base, optimizer: { name: 'adam-cm', lr: 0.1, topC: 1.5 } }, 'optimizer.topC', /integer/],
    ['three betas', { ...base, optimizer: { name: 'adam', lr: 0.1, betas: [0.9, 0.99, 0.5] } }, 'optimizer.betas', /two numbers/],
    ['both epochs and steps', { ...base, steps: 10 }, 'epochs', /exactly one of epochs and steps/],
    ['neither epochs nor steps', { optimizer: base.optimizer, batchSize: 32 }, 'steps', /exactly one/],
    ['a zero batch size', { ...base, batchSize: 0 }, 'batchSize', /\[1, /],
    ['a fractional batch size', { ...base, batchSize: 2.5 }, 'batchSize', /integer/],
    ['a step schedule without stepSize', { ...base, schedule: { name: 'step' } }, 'schedule.stepSize', /required/],
    ['minLr on a step schedule', { ...base, schedule: { name: 'step', stepSize: 5, minLr: 0.1 } }, 'schedule.minLr', /not an option of the step schedule/],
    ['an unknown augmentation', { ...base, augment: { rotate: 10 } }, 'augment.rotate', /unknown option/],
    ['a negative padding', { ...base, augment: { randomCrop: { padding: -1 } } }, 'augment.randomCrop.padding', /\[0, /],
    ['label smoothing above 1', { ...base, labelSmoothing: 1.5 }, 'labelSmoothing', /\[0, 1\]/],
    ['a negative seed', { ...base, seed: -1 }, 'seed', /\[0, /],
    ['an array', [base], '', /object/],
  ])('refuses %s naming the option', (_, value, path, message) => {
    const e = refusal(value);
    expect(e.code).toBe('TRAINING_OPTIONS_INVALID');
    expect(e.details?.path).toBe(path);
    expect(e.message).toMatch(message);
  });

  it('hashes configurations by content, not key order', () => {
    const a = parseTrainingConfig(base);
    const b = parseTrainingConfig({ epochs: 2, batchSize: 32, optimizer: { lr: 0.1, name: 'sgd' } });
    expect(trainingConfigHash(a)).toBe(trainingConfigHash(b));
    expect(trainingConfigHash(a)).not.toBe(trainingConfigHash({ ...a, seed: 1 }));
  });
});

describe('createOptimizer', () => {
  it('builds the named optimizer at the base lr, and its lr can be set per step', () => {
    expect(createOptimizer({ name: 'sgd', lr: 0.1, momentum: 0.9 })).toBeInstanceOf(Sgd);
    expect(createOptimizer({ name: 'adam', lr: 0.1 })).toBeInstanceOf(Adam);
    expect(createOptimizer({ name: 'adamw', lr: 0.1 })).toBeInstanceOf(AdamW);
    const cm = createOptimizer({ name: 'adam-cm', lr: 0.1, topC: 2 });
    expect(cm).toBeInstanceOf(AdamCm);
    expect(cm.learningRate).toBe(0.1);
    cm.setLearningRate(0.05);
    expect(cm.learningRate).toBe(0.05);
    expect(() => cm.setLearningRate(NaN)).toThrow(/lr/);
  });

  it('a step at lr 0.05 after setLearningRate equals a step of an optimizer built with 0.05', () => {
    const params = () => new Map([['w', Float32Array.of(1, -2, 3)]]);
    const grads = new Map([['w', Float32Array.of(0.5, 0.25, -1)]]);
    for (const name of ['sgd', 'adam', 'adamw', 'adam-cm'] as const) {
      const a = createOptimizer({ name, lr: 0.1 });
      a.setLearningRate(0.05);
      const b = createOptimizer({ name, lr: 0.05 });
      const [pa, pb] = [params(), params()];
      for (let s = 0; s < 3; s++) {
        a.step(pa, grads);
        b.step(pb, grads);
      }
      expect(Array.from(pa.get('w')!)).toEqual(Array.from(pb.get('w')!));
      expect(Array.from(pa.get('w')!)).not.toEqual([1, -2, 3]);
    }
  });
});
