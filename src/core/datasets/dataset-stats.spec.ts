import { CoreError } from '../errors';
import { classCounts, resolveClassCount, selectExamples, type Dataset } from './dataset';
import { datasetStatistics } from './dataset-stats';

/** Three 2-channel 1×2 images. */
const floats: Dataset = {
  shape: [3, 2, 1, 2],
  inputs: Float32Array.from([1, 3, 10, 10, 5, 7, 20, 40, 0, 2, 30, 50]),
  labels: Int32Array.from([2, 0, 2]),
  classCount: 4,
};

describe('datasetStatistics', () => {
  it('gives per-channel mean and population std, and class counts', () => {
    const stats = datasetStatistics(floats);
    expect(stats.count).toBe(3);
    expect(stats.classCounts).toEqual([1, 0, 2, 0]);
    // Channel 0 holds 1, 3, 5, 7, 0, 2; channel 1 holds 10, 10, 20, 40, 30, 50.
    const ch0 = [1, 3, 5, 7, 0, 2];
    const ch1 = [10, 10, 20, 40, 30, 50];
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const std = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / v.length);
    expect(stats.mean[0]).toBeCloseTo(mean(ch0), 12);
    expect(stats.mean[1]).toBeCloseTo(mean(ch1), 12);
    expect(stats.std[0]).toBeCloseTo(std(ch0), 12);
    expect(stats.std[1]).toBeCloseTo(std(ch1), 12);
  });

  it('covers only the given examples', () => {
    const stats = datasetStatistics(floats, [1]);
    expect(stats.classCounts).toEqual([1, 0, 0, 0]);
    expect(stats.mean).toEqual([6, 30]);
    expect(stats.std).toEqual([1, 10]);
    expect(() => datasetStatistics(floats, [3])).toThrow(CoreError);
    expect(() => datasetStatistics(floats, [])).toThrow(expect.objectContaining({ code: 'DATASET_EMPTY' }));
  });

  it('reads uint8 pixels on the 0..1 scale', () => {
    const bytes: Dataset = { shape: [2, 1, 1, 1], inputs: Uint8Array.from([0, 255]), labels: Int32Array.from([0, 1]), classCount: 2 };
    const stats = datasetStatistics(bytes);
    expect(stats.mean[0]).toBeCloseTo(0.5, 12);
    expect(stats.std[0]).toBeCloseTo(0.5, 12);
  });

  it('keeps float64 precision where float32 sums would drift', () => {
    // 10^6 pixels of 0.1 and 0.3 (as float32): a float32 running sum drifts far from the exact mean.
    const n = 500_000;
    const inputs = new Float32Array(2 * n);
    for (let i = 0; i < inputs.length; i++) inputs[i] = i % 2 ? 0.3 : 0.1;
    const stats = datasetStatistics({ shape: [n, 1, 1, 2], inputs, labels: new Int32Array(n), classCount: 1 });
    expect(stats.mean[0]).toBeCloseTo((Math.fround(0.1) + Math.fround(0.3)) / 2, 9);
    expect(stats.std[0]).toBeCloseTo((Math.fround(0.3) - Math.fround(0.1)) / 2, 9);
  });
});

describe('dataset helpers', () => {
  it('resolves the class count from labels or checks a given one', () => {
    expect(resolveClassCount(Int32Array.from([0, 4, 1]), undefined)).toBe(5);
    expect(resolveClassCount(Int32Array.from([0, 4, 1]), 7)).toBe(7);
    expect(() => resolveClassCount(Int32Array.from([0, 4, 1]), 4)).toThrow(expect.objectContaining({ code: 'DATASET_LABELS_INVALID' }));
    expect(() => resolveClassCount(Int32Array.from([0]), 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(classCounts(Int32Array.from([0, 2, 2]), 4)).toEqual([1, 0, 2, 0]);
  });

  it('selects examples into a dataset of their own', () => {
    const picked = selectExamples(floats, [2, 0]);
    expect(picked.shape).toEqual([2, 2, 1, 2]);
    expect(Array.from(picked.inputs)).toEqual([0, 2, 30, 50, 1, 3, 10, 10]);
    expect(Array.from(picked.labels)).toEqual([2, 2]);
    expect(picked.classCount).toBe(4);
  });
});
