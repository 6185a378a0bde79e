import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { readDataset, serializeDataset, splitDataset, type Dataset } from '../../core/datasets';
import { simplePng } from '../../core/datasets/testing/png-writer';
import { CoreError } from '../../core/errors';
import { writeZip } from '../../core/formats/torch/testing/checkpoint-writers';
import { bufferSource } from '../../core/io/random-access';
import { ingestDataset, type DatasetIngestInput } from './dataset-ingest';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dataset-ingest-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the ingest, collecting the stored file's bytes. */
async function ingest(input: DatasetIngestInput) {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const summary = await ingestDataset(input, sink);
  return { summary, stored: new Uint8Array(Buffer.concat(chunks)) };
}

async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** 20 float examples of 2×1×2, 4 classes of 5; values differ by channel so the statistics are per channel. */
function floatDataset(): Dataset {
  const n = 20;
  const inputs = new Float32Array(n * 4);
  for (let i = 0; i < inputs.length; i++) inputs[i] = ((i * 37) % 11) / 3 + (i % 4 < 2 ? 0 : 10);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  return { shape: [n, 2, 1, 2], inputs, labels, classCount: 4 };
}

describe('ingestDataset', () => {
  it('stores an uploaded safetensors file unchanged and normalizes by the training split only', async () => {
    const dataset = floatDataset();
    const path = await file('float.safetensors', serializeDataset(dataset));
    const split = { seed: 3, validation: 0.2, test: 0.2 };
    const { summary, stored } = await ingest({ kind: 'upload', path, split });
    expect(summary).toMatchObject({ source: 'upload-safetensors', shape: [20, 2, 1, 2], inputDtype: 'F32', classCount: 4, classNames: null, split, splitSizes: { train: 12, validation: 4, test: 4 } });
    const back = await readDataset(bufferSource(stored));
    expect(Array.from(back.inputs)).toEqual(Array.from(dataset.inputs));
    expect(Array.from(back.labels)).toEqual(Array.from(dataset.labels));
    // The mean and population std of each channel over the training examples, computed here directly.
    const { train } = splitDataset(dataset.labels, 4, split);
    for (let c = 0; c < 2; c++) {
      const values = Array.from(train).flatMap((i) => [dataset.inputs[i * 4 + c * 2], dataset.inputs[i * 4 + c * 2 + 1]]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      expect(summary.normalization.mean[c]).toBeCloseTo(mean, 10);
      expect(summary.normalization.std[c]).toBeCloseTo(std, 10);
    }
  });

  it('refuses labels outside the given class count', async () => {
    const path = await file('labels.safetensors', serializeDataset(floatDataset()));
    await expect(ingest({ kind: 'upload', path, split: { seed: 0, validation: 0.1, test: 0.2 }, classCount: 3 })).rejects.toMatchObject({ code: 'DATASET_LABELS_INVALID' });
  });

  it('decodes an image-folder zip into uint8 with class names; a constant channel gets std 1', async () => {
    const zip = writeZip([
      ['a/1.png', simplePng(2, 2, 1, [7, 7, 7, 7])],
      ['a/2.png', simplePng(2, 2, 1, [7, 7, 7, 7])],
      ['b/1.png', simplePng(2, 2, 1, [7, 7, 7, 7])],
    ]);
    const path = await file('pets.zip', zip);
    const { summary, stored } = await ingest({ kind: 'upload', path, split: { seed: 0, validation: 0, test: 0 }, archive: { height: 2, width: 2 } });
    expect(summary).toMatchObject({ source: 'upload-archive', shape: [3, 1, 2, 2], inputDtype: 'U8', classCount: 2, classNames: ['a', 'b'] });
    expect(summary.normalization.mean[0]).toBeCloseTo(7 / 255, 12);
    expect(summary.normalization.std).toEqual([1]);
    expect((await readDataset(bufferSource(stored))).classNames).toEqual(['a', 'b']);
  });

  it('tells a non-safetensors file without archive options, and a corrupt archive, apart', async () => {
    const path = await file('junk.zip', new Uint8Array([0x50, 0x4b, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9]));
    const noSize = await ingest({ kind: 'upload', path, split: { seed: 0, validation: 0, test: 0 } }).catch((e: unknown) => e);
    expect(noSize).toBeInstanceOf(CoreError);
    expect((noSize as CoreError).code).toBe('INVALID_ARGUMENT');
    await expect(ingest({ kind: 'upload', path, split: { seed: 0, validation: 0, test: 0 }, archive: { height: 2, width: 2 } })).rejects.toMatchObject({ code: 'DATASET_ARCHIVE_INVALID' });
  });

  it('refuses a split that leaves no training example', async () => {
    const one: Dataset = { shape: [1, 1, 1, 1], inputs: new Float32Array([1]), labels: new Int32Array([0]), classCount: 1 };
    const path = await file('one.safetensors', serializeDataset(one));
    await expect(ingest({ kind: 'upload', path, split: { seed: 0, validation: 0, test: 0.6 } })).rejects.toMatchObject({ code: 'DATASET_EMPTY' });
  });
});
