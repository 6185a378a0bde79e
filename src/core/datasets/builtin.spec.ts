import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { withFileSource } from '../io/random-access';
import { builtinSplits, clearBuiltinDatasetCache, loadBuiltinDataset } from './builtin';
import { classCounts } from './dataset';
import { datasetStatistics } from './dataset-stats';
import { readDataset } from './read-dataset';
import { writeDataset } from './write-dataset';

/** One class file of a package, parsed the slow, obvious way. */
async function parsedClassFile(pkg: string, dir: string, c: number): Promise<unknown> {
  const root = dirname(require.resolve(`${pkg}/package.json`));
  return (JSON.parse(await readFile(join(root, dir, `${c}.json`), 'utf8')) as { data: unknown }).data;
}

const IMAGE = 28 * 28;

describe('builtin datasets', () => {
  afterAll(() => clearBuiltinDatasetCache());

  it('loads a prefix of fashion-mnist as uint8 N×1×28×28, ordered by class, equal to the package data', async () => {
    const dataset = await loadBuiltinDataset('fashion-mnist', { perClass: 3 });
    expect(dataset.shape).toEqual([30, 1, 28, 28]);
    expect(dataset.inputs).toBeInstanceOf(Uint8Array);
    expect(Array.from(dataset.labels)).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 3)));
    expect(dataset.classCount).toBe(10);
    expect(dataset.classNames?.[9]).toBe('Ankle boot');
    const class7 = (await parsedClassFile('fashion-mnist', 'src/clothes', 7)) as number[][];
    expect(Array.from(dataset.inputs.subarray(22 * IMAGE, 23 * IMAGE))).toEqual(class7[1]);
  });

  it('loads mnist’s flat unit-scale data back to its bytes', async () => {
    const dataset = await loadBuiltinDataset('mnist', { perClass: 2 });
    expect(dataset.shape).toEqual([20, 1, 28, 28]);
    const class4 = (await parsedClassFile('mnist', 'src/digits', 4)) as number[];
    const second = class4.slice(IMAGE, 2 * IMAGE);
    expect(Array.from(dataset.inputs.subarray(9 * IMAGE, 10 * IMAGE))).toEqual(second.map((v) => Math.round(v * 255)));
    expect(second.some((v) => v > 0 && v < 1)).toBe(true);
  });

  it('caches each load and refuses unknown names and bad options', async () => {
    const first = loadBuiltinDataset('mnist', { perClass: 2 });
    expect(loadBuiltinDataset('mnist', { perClass: 2 })).toBe(first);
    await expect(loadBuiltinDataset('cifar-10')).rejects.toMatchObject({ code: 'DATASET_BUILTIN_UNKNOWN' });
    await expect(loadBuiltinDataset('toString')).rejects.toMatchObject({ code: 'DATASET_BUILTIN_UNKNOWN' });
    await expect(loadBuiltinDataset('mnist', { perClass: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('packs a builtin into a safetensors file that reads back unchanged', async () => {
    const dataset = await loadBuiltinDataset('fashion-mnist', { perClass: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'weightsmith-dataset-'));
    try {
      const path = join(dir, 'fashion.safetensors');
      const { bytesWritten } = await writeDataset(path, dataset, { source: 'fashion-mnist' });
      expect(bytesWritten).toBeGreaterThan(30 * IMAGE + 30 * 8);
      const back = await withFileSource(path, (source) => readDataset(source));
      expect(back.shape).toEqual(dataset.shape);
      expect(Buffer.from(back.inputs).equals(Buffer.from(dataset.inputs))).toBe(true);
      expect(Array.from(back.labels)).toEqual(Array.from(dataset.labels));
      expect(back.classNames).toEqual(dataset.classNames);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loads all of fashion-mnist, with the default stratified split of the original sizes', async () => {
    const dataset = await loadBuiltinDataset('fashion-mnist');
    expect(dataset.shape).toEqual([70000, 1, 28, 28]);
    expect(classCounts(dataset.labels, 10)).toEqual(new Array(10).fill(7000));
    const splits = builtinSplits(dataset, 'fashion-mnist', 0);
    expect(classCounts(Int32Array.from(splits.test, (i) => dataset.labels[i]), 10)).toEqual(new Array(10).fill(1000));
    expect(classCounts(Int32Array.from(splits.validation, (i) => dataset.labels[i]), 10)).toEqual(new Array(10).fill(500));
    expect(splits.train.length).toBe(55000);
    // Fashion-MNIST's well-known pixel statistics (mean 0.286, std 0.353 on the 0..1 scale).
    const stats = datasetStatistics(dataset);
    expect(stats.mean[0]).toBeCloseTo(0.286, 3);
    expect(stats.std[0]).toBeCloseTo(0.353, 3);
  });
});
