import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CoreError } from '../errors';
import type { Dataset } from './dataset';
import { scanPixelArrays, type PixelArrayFormat } from './json-pixels';
import { splitDataset, type DatasetSplits } from './splits';

/**
 * Real image data that installs from npm. Both packages store one JSON file per class
 * (`<dir>/<class>.json`) of 28×28 grayscale images and carry no train/test marker, so there is no
 * official split to keep: the test split is drawn like the others, by seed and stratified by class,
 * with the sizes below. fashion-mnist holds 7,000 images per class (70,000, the size of the
 * original dataset's train and test sets together): its default split gives the original's sizes,
 * 1,000 test images per class (10,000) and 500 validation images per class (5,000). mnist holds
 * 10,000 digits with uneven class sizes (863 to 1,127).
 */
export interface BuiltinDatasetInfo {
  readonly name: string;
  /** The npm package the images come from. */
  readonly packageName: string;
  /** Folder of the per-class JSON files inside the package. */
  readonly dataDir: string;
  readonly format: PixelArrayFormat;
  readonly classNames: readonly string[];
  /** Per-class fractions of the default split. */
  readonly defaultSplit: { readonly validation: number; readonly test: number };
}

const SIDE = 28;

export const BUILTIN_DATASETS: Readonly<Record<string, BuiltinDatasetInfo>> = {
  'fashion-mnist': {
    name: 'fashion-mnist',
    packageName: 'fashion-mnist',
    dataDir: 'src/clothes',
    format: { layout: 'nested', scale: 'byte', imageSize: SIDE * SIDE },
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    defaultSplit: { validation: 1 / 14, test: 1 / 7 },
  },
  mnist: {
    name: 'mnist',
    packageName: 'mnist',
    dataDir: 'src/digits',
    // Stored as value / 255 rounded to 3 decimals: round(value · 255) recovers the byte exactly.
    format: { layout: 'flat', scale: 'unit', imageSize: SIDE * SIDE },
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    defaultSplit: { validation: 0.1, test: 0.2 },
  },
};

export const BUILTIN_DATASET_NAMES = Object.keys(BUILTIN_DATASETS);

export function builtinDatasetInfo(name: string): BuiltinDatasetInfo {
  if (!Object.hasOwn(BUILTIN_DATASETS, name)) {
    throw new CoreError('DATASET_BUILTIN_UNKNOWN', `unknown builtin dataset ${JSON.stringify(name.slice(0, 60))} (known: ${BUILTIN_DATASET_NAMES.join(', ')})`, {
      builtin: name.slice(0, 60),
      known: BUILTIN_DATASET_NAMES,
    });
  }
  return BUILTIN_DATASETS[name];
}

function packageDir(info: BuiltinDatasetInfo): string {
  try {
    return dirname(require.resolve(`${info.packageName}/package.json`));
  } catch {
    throw new CoreError('DATASET_BUILTIN_UNAVAILABLE', `builtin dataset "${info.name}" needs the npm package "${info.packageName}", which is not installed`, {
      builtin: info.name,
      package: info.packageName,
    });
  }
}

export interface LoadBuiltinOptions {
  /** Read only the first `perClass` images of each class (fast, for tests and previews). */
  perClass?: number;
}

async function loadUncached(info: BuiltinDatasetInfo, perClass: number): Promise<Dataset> {
  const dir = join(packageDir(info), info.dataDir);
  const parts: Uint8Array[] = [];
  const counts: number[] = [];
  for (let c = 0; c < info.classNames.length; c++) {
    const file = join(dir, `${c}.json`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new CoreError('DATASET_BUILTIN_UNAVAILABLE', `builtin dataset "${info.name}": cannot read ${info.packageName}/${info.dataDir}/${c}.json (${reason})`, { builtin: info.name });
    }
    const { pixels, count } = scanPixelArrays(bytes, info.format, `${info.packageName}/${info.dataDir}/${c}.json`, perClass);
    parts.push(pixels);
    counts.push(count);
  }
  const n = counts.reduce((a, b) => a + b, 0);
  const inputs = new Uint8Array(n * info.format.imageSize);
  const labels = new Int32Array(n);
  let offset = 0;
  parts.forEach((pixels, c) => {
    inputs.set(pixels, offset * info.format.imageSize);
    labels.fill(c, offset, offset + counts[c]);
    offset += counts[c];
  });
  return { shape: [n, 1, SIDE, SIDE], inputs, labels, classCount: info.classNames.length, classNames: info.classNames };
}

const cache = new Map<string, Promise<Dataset>>();

/**
 * A builtin dataset as uint8 N×1×28×28 inputs and labels, examples ordered by class (all of class
 * 0, then class 1, …) and, within a class, in the package's order. Loaded once per process and
 * `perClass` (the same promise is shared; a failed load is not cached). Callers must not mutate
 * the returned arrays.
 */
export function loadBuiltinDataset(name: string, opts: LoadBuiltinOptions = {}): Promise<Dataset> {
  let info: BuiltinDatasetInfo;
  try {
    info = builtinDatasetInfo(name);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  const { perClass } = opts;
  if (perClass !== undefined && (!Number.isSafeInteger(perClass) || perClass < 1)) {
    return Promise.reject(new CoreError('INVALID_ARGUMENT', `perClass must be a positive integer, got ${perClass}`, { perClass }));
  }
  const key = `${info.name}:${perClass ?? 'all'}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = loadUncached(info, perClass ?? Infinity);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

/** Forgets every loaded builtin (frees its memory once no caller holds it). */
export function clearBuiltinDatasetCache(): void {
  cache.clear();
}

/** The builtin's default split for a seed (see BuiltinDatasetInfo). */
export function builtinSplits(dataset: Dataset, name: string, seed: number): DatasetSplits {
  const { validation, test } = builtinDatasetInfo(name).defaultSplit;
  return splitDataset(dataset.labels, dataset.classCount, { seed, validation, test });
}
