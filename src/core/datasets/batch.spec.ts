import { gatherBatch } from './batch';
import type { Dataset } from './dataset';

describe('gatherBatch', () => {
  const dataset: Dataset = { shape: [3, 2, 1, 2], inputs: Uint8Array.from([0, 255, 51, 102, 10, 20, 30, 40, 255, 0, 0, 255]), labels: Int32Array.from([2, 0, 1]), classCount: 3 };

  it('reads uint8 on the 0..1 scale, normalizes per channel and keeps the order asked for', () => {
    const batch = gatherBatch(dataset, [2, 0], { mean: [0.5, 0], std: [0.5, 2] });
    expect(batch.shape).toEqual([2, 2, 1, 2]);
    expect([...batch.labels]).toEqual([1, 2]);
    const expected = [1, -1, 0, 0.5, -1, 1, 0.1, 0.2];
    [...batch.inputs].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('refuses an index outside the dataset and a normalization of the wrong width', () => {
    expect(() => gatherBatch(dataset, [3], { mean: [0, 0], std: [1, 1] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => gatherBatch(dataset, [0], { mean: [0], std: [1] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => gatherBatch(dataset, [0], { mean: [0, 0], std: [1, 0] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
