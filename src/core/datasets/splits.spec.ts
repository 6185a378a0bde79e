import { CoreError } from '../errors';
import { splitCount, splitDataset, splitSizes, type DatasetSplits } from './splits';

/** Uneven classes: class c has 40 + 7c examples, interleaved through the dataset. */
function unevenLabels(): Int32Array {
  const labels: number[] = [];
  for (let c = 0; c < 5; c++) for (let k = 0; k < 40 + 7 * c; k++) labels.push(c);
  // A fixed interleaving, so that class members are not contiguous.
  return Int32Array.from(labels.map((l, i) => ({ l, key: (i * 7919) % labels.length })).sort((a, b) => a.key - b.key).map((x) => x.l));
}

function countIn(indices: Int32Array, labels: Int32Array, c: number): number {
  return indices.filter((i) => labels[i] === c).length;
}

function expectPartition(splits: DatasetSplits, n: number): void {
  const seen = new Uint8Array(n);
  for (const part of [splits.train, splits.validation, splits.test]) {
    for (const i of part) seen[i]++;
    expect(Array.from(part)).toEqual(Array.from(part).sort((a, b) => a - b));
  }
  // Every example appears in exactly one split.
  expect(seen.every((s) => s === 1)).toBe(true);
}

describe('splitDataset', () => {
  const labels = unevenLabels();
  const opts = { seed: 7, validation: 0.1, test: 0.2 };

  it('is deterministic for a seed and changes with it', () => {
    const a = splitDataset(labels, 5, opts);
    const b = splitDataset(labels.slice(), 5, opts);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.validation)).toEqual(Array.from(b.validation));
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    const other = splitDataset(labels, 5, { ...opts, seed: 8 });
    expect(Array.from(other.test)).not.toEqual(Array.from(a.test));
    expect(splitSizes(other)).toEqual(splitSizes(a));
  });

  it('covers every example exactly once, each split sorted', () => {
    expectPartition(splitDataset(labels, 5, opts), labels.length);
  });

  it('stratifies by class with the round-half-up rule', () => {
    const splits = splitDataset(labels, 5, opts);
    for (let c = 0; c < 5; c++) {
      const size = 40 + 7 * c;
      expect(countIn(splits.test, labels, c)).toBe(Math.floor(size * 0.2 + 0.5));
      expect(countIn(splits.validation, labels, c)).toBe(Math.floor(size * 0.1 + 0.5));
      expect(countIn(splits.train, labels, c)).toBe(size - Math.floor(size * 0.2 + 0.5) - Math.floor(size * 0.1 + 0.5));
    }
    expect(splitCount(5, 0.1)).toBe(1); // 0.5 rounds up
    expect(splitCount(4, 0.1)).toBe(0);
  });

  it('draws each class from its own stream: adding a class leaves the others’ splits alone', () => {
    const withExtra = Int32Array.from([...labels, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    const a = splitDataset(labels, 5, opts);
    const b = splitDataset(withExtra, 6, opts);
    expect(Array.from(b.test.filter((i) => i < labels.length))).toEqual(Array.from(a.test));
  });

  it('shuffles classes of equal size differently', () => {
    const alternating = Int32Array.from({ length: 40 }, (_, i) => i % 2);
    const splits = splitDataset(alternating, 2, { seed: 3, validation: 0, test: 0.5 });
    const ranks = (c: number) => Array.from(splits.test.filter((i) => i % 2 === c), (i) => i >> 1);
    expect(ranks(0)).toHaveLength(10);
    expect(ranks(0)).not.toEqual(ranks(1));
  });

  it('keeps a fixed test set and splits validation off the rest, stratified', () => {
    const fixedTest = Array.from({ length: 30 }, (_, k) => k * 3);
    const splits = splitDataset(labels, 5, { seed: 1, validation: 0.25, fixedTest });
    expect(Array.from(splits.test)).toEqual(fixedTest);
    expectPartition(splits, labels.length);
    const rest = Array.from(labels.keys()).filter((i) => !fixedTest.includes(i));
    for (let c = 0; c < 5; c++) {
      const size = rest.filter((i) => labels[i] === c).length;
      expect(countIn(splits.validation, labels, c)).toBe(Math.floor(size * 0.25 + 0.5));
    }
  });

  it('refuses bad fractions, seeds and test sets', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as CoreError).code;
      }
      return 'none';
    };
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: 0.5, test: 0.5 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: NaN }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: -0.1 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: -1, validation: 0.1 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: 0.1, fixedTest: [1, 1] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: 0.1, fixedTest: [labels.length] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 5, { seed: 1, validation: 0.1, test: 0.1, fixedTest: [0] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => splitDataset(labels, 4, opts))).toBe('DATASET_LABELS_INVALID');
  });
});
