import { ClassificationAccumulator } from './classification-metrics';

describe('ClassificationAccumulator', () => {
  it('counts top-1 and top-5 hits and averages the cross-entropy over batches', () => {
    const acc = new ClassificationAccumulator(6);
    // Example 0: label 2 has the largest logit. Example 1: label 0 is 6th of 6 (outside the top 5).
    acc.add([0, 1, 5, 2, 3, 4, -9, 1, 2, 3, 4, 5], [2, 0]);
    // Example 2: label 5 is 2nd (top-5, not top-1).
    acc.add([0, 0, 0, 0, 9, 8], [5]);
    const r = acc.result();
    expect(r.count).toBe(3);
    expect(r.top1).toBeCloseTo(1 / 3, 12);
    expect(r.top5).toBeCloseTo(2 / 3, 12);
    const ce = (row: number[], label: number) => Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[label];
    const expected = (ce([0, 1, 5, 2, 3, 4], 2) + ce([-9, 1, 2, 3, 4, 5], 0) + ce([0, 0, 0, 0, 9, 8], 5)) / 3;
    expect(r.loss).toBeCloseTo(expected, 12);
  });

  it('has no top-5 under 5 classes, stays finite for huge logits, and refuses mismatched sizes', () => {
    const acc = new ClassificationAccumulator(2);
    acc.add([1000, -1000], [1]);
    expect(acc.result()).toEqual({ top1: 0, top5: null, loss: 2000, count: 1 });
    expect(() => acc.add([1, 2, 3], [0])).toThrow('expected 1 × 2 logits');
    expect(() => new ClassificationAccumulator(3).result()).toThrow('no examples');
  });
});
