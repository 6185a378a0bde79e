import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { checkAgainstRun, exceeds, relativeError, sampleIndices, type ParamStat, type RunCheckInput, type RunJson } from './testing-ghn-fixtures';

/**
 * The fixture comparison must fail on values no official run can hold: a NaN or an infinity in a
 * GNN internal, a decoder output, a full parameter or a sampled one. (NaN compares false with every
 * number, so a check written `error > tolerance` passes it.)
 */
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TOLERANCE = 1e-5;
const W = [0.5, -1.25, 2, 0.75, -0.5, 1];
const INTERNAL = [0.1, 0.4, -0.3, 0.2];

function statOf(values: number[], shape: number[]): ParamStat {
  return {
    shape,
    numel: values.length,
    sum: values.reduce((a, b) => a + b, 0),
    sumsq: values.reduce((a, b) => a + b * b, 0),
    min: Math.min(...values),
    max: Math.max(...values),
    predicted: true,
  };
}

const run: RunJson = {
  full_params_stored: true,
  param_stats: { w: statOf(W, [2, 3]), s: statOf(W, [3, 2]) },
  predicted: ['w', 's'],
  not_predicted: [],
  random_slices: {},
};

/** A prediction equal to the run, with `plant` applied to one of its arrays first. */
function check(plant: { where: 'internal' | 'decoder' | 'param' | 'sampled'; value: number } | null): string[] {
  const put = (where: string, values: number[]): number[] => {
    if (plant?.where !== where) return values;
    // Index 3 holds neither the minimum nor the maximum, so the range check alone cannot catch it.
    const copy = [...values];
    copy[3] = plant.value;
    return copy;
  };
  const tensors: tf.Tensor[] = [];
  const t = (values: number[], shape: number[]): tf.Tensor => {
    const x = tf.tensor(values, shape, 'float32');
    tensors.push(x);
    return x;
  };
  try {
    const input: RunCheckInput = {
      config: 'ghn3_h32_l3',
      arch: 'planted',
      expected: new Map([
        ['ghn/x_embed', t(INTERNAL, [2, 2])],
        ['dec/out', t(INTERNAL, [4])],
        ['w', t(W, [2, 3])],
        ['samples/s', t(sampleIndices(W.length).map((i) => W[i]), [W.length])],
      ]),
      run,
      params: new Map([
        ['w', t(put('param', W), [2, 3])],
        ['s', t(put('sampled', W), [3, 2])],
      ]),
      internals: new Map([
        ['ghn/x_embed', t(put('internal', INTERNAL), [2, 2])],
        ['dec/out', t(put('decoder', INTERNAL), [4])],
      ]),
      notPredicted: [],
      tolerance: TOLERANCE,
    };
    return checkAgainstRun(input);
  } finally {
    tf.dispose(tensors);
  }
}

describe('checkAgainstRun', () => {
  it('finds nothing when the prediction equals the run', () => {
    expect(check(null)).toEqual([]);
  });

  it.each([
    ['internal', 'ghn/x_embed'],
    ['decoder', 'dec/out'],
    ['param', 'w'],
    ['sampled', 'samples/s'],
  ] as const)('fails a NaN and an infinity planted in the %s tensor', (where, name) => {
    for (const value of [NaN, Infinity, -Infinity]) {
      const problems = check({ where, value });
      expect([value, problems.some((p) => p.startsWith(`${name}:`))]).toEqual([value, true]);
    }
  });

  it('fails a value just past the tolerance and passes one just inside it', () => {
    const scale = Math.max(...W.map(Math.abs));
    expect(check({ where: 'param', value: W[3] + 2 * TOLERANCE * scale }).some((p) => p.startsWith('w:'))).toBe(true);
    expect(check({ where: 'param', value: W[3] + 0.5 * TOLERANCE * scale })).toEqual([]);
  });
});

describe('relativeError and exceeds', () => {
  it('give NaN or infinity for non-finite values, which always exceed a bound', () => {
    expect(relativeError([1, NaN], [1, 2])).toBeNaN();
    expect(relativeError([1, 2], [1, NaN])).toBeNaN();
    expect(relativeError([1, Infinity], [1, 2])).toBe(Infinity);
    expect(relativeError([1, 2, 3], [1, 2])).toBe(Infinity);
    for (const error of [NaN, Infinity]) expect(exceeds(error, 1e-5)).toBe(true);
    expect(exceeds(1e-6, 1e-5)).toBe(false);
    expect(exceeds(1e-5, 1e-5)).toBe(false);
  });
});
