import { CoreError } from '../errors';
import { checkSeed, randomStream } from '../init/seeded-random';

export interface SplitOptions {
  seed: number;
  /** Fraction of each class that goes to validation, in [0, 1). */
  validation: number;
  /** Fraction of each class that goes to test, in [0, 1); must be 0 when `fixedTest` is given. */
  test?: number;
  /** Examples that form the test split as they are (e.g. a dataset's official test set). */
  fixedTest?: ArrayLike<number>;
}

/** Example indices of each split, each sorted ascending; together they cover every example once. */
export interface DatasetSplits {
  readonly train: Int32Array;
  readonly validation: Int32Array;
  readonly test: Int32Array;
}

export type SplitName = keyof DatasetSplits;
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

function checkFraction(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new CoreError('INVALID_ARGUMENT', `the ${name} fraction must be in [0, 1), got ${value}`, { [name]: value });
  }
}

/** Round half up: the documented rule that turns a class's fraction into a count. */
export function splitCount(classSize: number, fraction: number): number {
  return Math.min(classSize, Math.floor(classSize * fraction + 0.5));
}

function fixedTestMask(fixedTest: ArrayLike<number>, n: number): Uint8Array {
  const mask = new Uint8Array(n);
  for (let i = 0; i < fixedTest.length; i++) {
    const index = fixedTest[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new CoreError('INVALID_ARGUMENT', `test index ${index} is outside [0, ${n - 1}]`, { index });
    }
    if (mask[index]) throw new CoreError('INVALID_ARGUMENT', `test index ${index} is listed twice`, { index });
    mask[index] = 1;
  }
  return mask;
}

/** Fisher–Yates from the last position down, j = ⌊u·(i + 1)⌋ with u from the seeded stream. */
function shuffleInPlace(values: number[], seed: number, name: string): void {
  const random = randomStream(seed, name);
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}

/**
 * Deterministic, stratified train/validation/test splits. Examples are grouped by class (each
 * group in ascending index order, leaving out `fixedTest`); each group is shuffled with its own
 * seeded stream (`dataset-split/class-<c>`, so one class's order does not depend on the others);
 * then the first ⌊n_c·test + ½⌋ go to test, the next ⌊n_c·validation + ½⌋ (at most what is left)
 * to validation and the rest to train. The same labels, seed and fractions always give the same
 * splits, on every machine. Each split is returned sorted ascending.
 */
export function splitDataset(labels: Int32Array, classCount: number, opts: SplitOptions): DatasetSplits {
  checkSeed(opts.seed);
  const test = opts.test ?? 0;
  checkFraction('validation', opts.validation);
  checkFraction('test', test);
  if (opts.validation + test >= 1) {
    throw new CoreError('INVALID_ARGUMENT', `validation + test must leave examples for training, got ${opts.validation} + ${test}`, {
      validation: opts.validation,
      test,
    });
  }
  if (opts.fixedTest && test > 0) throw new CoreError('INVALID_ARGUMENT', 'give either a test fraction or a fixed test set, not both');
  const mask = opts.fixedTest ? fixedTestMask(opts.fixedTest, labels.length) : new Uint8Array(labels.length);
  const groups: number[][] = Array.from({ length: classCount }, () => []);
  for (let i = 0; i < labels.length; i++) {
    if (mask[i]) continue;
    const label = labels[i];
    if (label < 0 || label >= classCount) throw new CoreError('DATASET_LABELS_INVALID', `label #${i} is ${label}, outside [0, ${classCount - 1}]`, { index: i, label });
    groups[label].push(i);
  }
  const parts: Record<SplitName, number[]> = { train: [], validation: [], test: [] };
  groups.forEach((group, c) => {
    shuffleInPlace(group, opts.seed, `dataset-split/class-${c}`);
    const t = splitCount(group.length, test);
    const v = Math.min(group.length - t, splitCount(group.length, opts.validation));
    for (let k = 0; k < group.length; k++) (k < t ? parts.test : k < t + v ? parts.validation : parts.train).push(group[k]);
  });
  if (opts.fixedTest) for (let i = 0; i < mask.length; i++) if (mask[i]) parts.test.push(i);
  const sorted = (values: number[]) => Int32Array.from(values).sort();
  return { train: sorted(parts.train), validation: sorted(parts.validation), test: sorted(parts.test) };
}

/** The number of examples in each split. */
export function splitSizes(splits: DatasetSplits): Record<SplitName, number> {
  return { train: splits.train.length, validation: splits.validation.length, test: splits.test.length };
}
