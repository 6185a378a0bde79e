import type { Batch } from '../datasets/batch';
import { augmentBatch, epochPermutation } from './augment';

const normalization = { mean: [0.5], std: [0.25] };
const fill = (0 - 0.5) / 0.25;

/** One 1×3×4 image with values 1..12 (already "normalized"). */
function batch(n = 1): Batch {
  const inputs = new Float32Array(n * 12);
  for (let i = 0; i < inputs.length; i++) inputs[i] = (i % 12) + 1;
  return { shape: [n, 1, 3, 4], inputs, labels: new Int32Array(n) };
}

describe('epochPermutation', () => {
  it('is a permutation that depends only on (seed, epoch)', () => {
    const p = epochPermutation(3, 0, 100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(epochPermutation(3, 0, 100)).toEqual(p);
    expect(epochPermutation(3, 1, 100)).not.toEqual(p);
    expect(epochPermutation(4, 0, 100)).not.toEqual(p);
  });
});

describe('augmentBatch', () => {
  it('flips rows, and crops with the normalized value of a raw zero as padding', () => {
    const seen = new Set<string>();
    for (let step = 0; step < 60; step++) {
      const b = batch();
      augmentBatch(b, normalization, { randomCrop: { padding: 1 }, horizontalFlip: true }, 7, step);
      const out = Array.from(b.inputs);
      seen.add(out.join(','));
      // Every output pixel is the fill or an input value; each row stays a (possibly reversed) run of one input row.
      for (let y = 0; y < 3; y++) {
        const row = out.slice(y * 4, y * 4 + 4).filter((v) => v !== fill);
        const sorted = [...row].sort((a, c) => a - c);
        expect(row.join() === sorted.join() || row.join() === [...sorted].reverse().join()).toBe(true);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i] - sorted[i - 1]).toBe(1);
      }
    }
    // 3 tops × 3 lefts × 2 flips, all reached.
    expect(seen.size).toBe(18);
    const flippedOnly = batch();
    augmentBatch(flippedOnly, normalization, { horizontalFlip: true }, 7, 0);
    const identity = Array.from(batch().inputs);
    const mirrored = [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9];
    expect([identity.join(), mirrored.join()]).toContain(Array.from(flippedOnly.inputs).join());
  });

  it('is a function of (seed, step) only, and does nothing without transforms', () => {
    const a = batch(4);
    const b = batch(4);
    augmentBatch(a, normalization, { randomCrop: { padding: 2 } }, 1, 5);
    augmentBatch(b, normalization, { randomCrop: { padding: 2 } }, 1, 5);
    expect(a.inputs).toEqual(b.inputs);
    const c = batch(4);
    augmentBatch(c, normalization, { randomCrop: { padding: 2 } }, 1, 6);
    expect(c.inputs).not.toEqual(a.inputs);
    const d = batch(4);
    augmentBatch(d, normalization, { randomCrop: { padding: 0 }, horizontalFlip: false }, 1, 5);
    expect(d.inputs).toEqual(batch(4).inputs);
  });
});
