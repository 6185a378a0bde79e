import { createHash } from 'node:crypto';
import request from 'supertest';
import { datasetStatistics, serializeDataset, splitDataset, type Dataset } from '../../src/core/datasets';
import { simplePng } from '../../src/core/datasets/testing/png-writer';
import { writeZip } from '../../src/core/formats/torch/testing/checkpoint-writers';
import { importBuiltinDataset } from '../../src/cli/commands/dataset-import';
import { DatasetsService } from '../../src/modules/datasets/datasets.service';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import { ADMIN_KEY, auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

/** 30 float examples 1×2×2 of 3 classes (10 each), distinct values. */
function floatDataset(): Dataset {
  const n = 30;
  const inputs = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i) * 3 + 1);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { shape: [n, 1, 2, 2], inputs, labels, classCount: 3 };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe(`datasets API (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const upload = (bytes: Uint8Array, fields: Record<string, string> = {}, filename = 'data.safetensors') => {
    let req = request(t.url).post('/v1/datasets/upload').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', Buffer.from(bytes), filename);
  };

  /** Runs a refused request and checks that it stored nothing: no row, no blob, nothing staged. */
  async function refused(send: () => request.Test, status: number, code: string): Promise<void> {
    const before = (await request(t.url).get('/v1/datasets?limit=200').set(auth()).expect(200)).body.items.length as number;
    const blobs = (await storedBlobFiles(t.dataDir)).length;
    const res = await send().expect(status);
    expect(res.body.code).toBe(code);
    expect((await request(t.url).get('/v1/datasets?limit=200').set(auth()).expect(200)).body.items).toHaveLength(before);
    expect(await storedBlobFiles(t.dataDir)).toHaveLength(blobs);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  }

  it('stores an uploaded safetensors dataset with its splits and training-split normalization; GET and list', async () => {
    const dataset = floatDataset();
    const file = serializeDataset(dataset);
    const res = await upload(file, { name: 'waves', seed: '5', validation: '0.2', test: '0.3' }).expect(201);
    const split = { seed: 5, validation: 0.2, test: 0.3 };
    const splits = splitDataset(dataset.labels, 3, split);
    const stats = datasetStatistics(dataset, splits.train);
    expect(res.headers.location).toBe(`/v1/datasets/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: 'waves',
      source: 'upload-safetensors',
      shape: [30, 1, 2, 2],
      inputDtype: 'F32',
      classCount: 3,
      classNames: null,
      splits: { ...split, sizes: { train: 15, validation: 6, test: 9 } },
      // The stored file is the dataset file as writeDataset writes it: the upload's own bytes here.
      blob: { sha256: sha256(file), sizeBytes: file.byteLength },
    });
    expect(res.body.normalization.mean[0]).toBeCloseTo(stats.mean[0], 12);
    expect(res.body.normalization.std[0]).toBeCloseTo(stats.std[0], 12);
    expect((await request(t.url).get(`/v1/datasets/${res.body.id}`).set(auth()).expect(200)).body).toEqual(res.body);

    const loaded = await t.app.get(DatasetsService).load(res.body.id);
    expect(Array.from(loaded.dataset.inputs)).toEqual(Array.from(dataset.inputs));
    expect(Array.from(loaded.splits.test)).toEqual(Array.from(splits.test));
    expect(loaded.normalization).toEqual(res.body.normalization);
  });

  it('decodes a zip of PNG class folders, resized, with class names', async () => {
    const zip = writeZip([
      ['shapes/circle/1.png', simplePng(4, 4, 1, Array.from({ length: 16 }, (_, i) => i * 10))],
      ['shapes/circle/2.png', simplePng(2, 2, 1, [0, 50, 100, 150])],
      ['shapes/square/1.png', simplePng(2, 2, 3, [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])],
    ]);
    const res = await upload(zip, { height: '2', width: '2', channels: '1', validation: '0', test: '0' }, 'shapes.zip').expect(201);
    expect(res.body).toMatchObject({ name: 'shapes', source: 'upload-archive', shape: [3, 1, 2, 2], inputDtype: 'U8', classCount: 2, classNames: ['circle', 'square'], splits: { sizes: { train: 3, validation: 0, test: 0 } } });
  });

  it('stores builtin mnist (10,000 digits) with its default split', async () => {
    const res = await request(t.url).post('/v1/datasets').set(auth()).send({ builtin: 'mnist', seed: 1 }).expect(201);
    expect(res.body).toMatchObject({ name: 'mnist', source: 'builtin:mnist', shape: [10000, 1, 28, 28], inputDtype: 'U8', classCount: 10, splits: { seed: 1, validation: 0.1, test: 0.2 } });
    const { train, validation, test } = res.body.splits.sizes as Record<string, number>;
    expect(train + validation + test).toBe(10000);
    expect(test).toBeGreaterThan(1950);
    expect(test).toBeLessThan(2050);
    expect(res.body.normalization.mean[0]).toBeGreaterThan(0.1);
    expect(res.body.normalization.mean[0]).toBeLessThan(0.15);
    expect(res.body.classNames).toHaveLength(10);
    const loaded = await t.app.get(DatasetsService).load(res.body.id);
    expect(loaded.splits.train.length).toBe(train);

    // The CLI's `dataset import` goes through the same route; the same data and seed give the same bytes and splits.
    const cli = await importBuiltinDataset('mnist', { server: t.url, apiKey: ADMIN_KEY, seed: 1, name: 'digits' });
    expect(cli).toMatchObject({ name: 'digits', source: 'builtin:mnist', splits: res.body.splits, normalization: res.body.normalization, blob: res.body.blob });
  });

  it('lists with cursor pagination and filters by source', async () => {
    const first = await request(t.url).get('/v1/datasets?limit=1').set(auth()).expect(200);
    expect(first.body.items).toHaveLength(1);
    const second = await request(t.url).get(`/v1/datasets?limit=1&cursor=${first.body.nextCursor}`).set(auth()).expect(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    const archives = await request(t.url).get('/v1/datasets?source=upload-archive').set(auth()).expect(200);
    expect(archives.body.items.map((d: { source: string }) => d.source)).toEqual(['upload-archive']);
  });

  it('keeps bytes shared with a checkpoint until neither records them', async () => {
    const dataset = { ...floatDataset(), labels: Int32Array.from({ length: 30 }, (_, i) => (i * 2) % 3) };
    const file = serializeDataset(dataset);
    const sha = sha256(file);
    const ds = await upload(file, { name: 'shared' }).expect(201);
    const ck = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', Buffer.from(file), 'shared.safetensors').expect(201);
    expect(ck.body.sha256).toBe(sha);
    const stored = async () => (await storedBlobFiles(t.dataDir)).some((p) => p.endsWith(sha));
    await request(t.url).delete(`/v1/checkpoints/${ck.body.id}`).set(auth()).expect(204);
    expect(await stored()).toBe(true);
    await request(t.url).get(`/v1/datasets/${ds.body.id}`).set(auth()).expect(200);
    await request(t.url).delete(`/v1/datasets/${ds.body.id}`).set(auth()).expect(204);
    expect(await stored()).toBe(false);
    await request(t.url).get(`/v1/datasets/${ds.body.id}`).set(auth()).expect(404);
    const again = await request(t.url).delete(`/v1/datasets/${ds.body.id}`).set(auth()).expect(404);
    expect(again.body.code).toBe('DATASET_NOT_FOUND');
  });

  it('refuses bad input with stable codes and stores nothing', async () => {
    const dataset = floatDataset();
    await refused(() => upload(serializeDataset(dataset), { classCount: '2' }), 422, 'DATASET_LABELS_INVALID');
    const empty: Dataset = { shape: [0, 1, 2, 2], inputs: new Float32Array(0), labels: new Int32Array(0), classCount: 1 };
    await refused(() => upload(serializeDataset(empty)), 422, 'DATASET_EMPTY');
    await refused(() => upload(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]), { height: '2', width: '2' }, 'bad.zip'), 422, 'DATASET_ARCHIVE_INVALID');
    await refused(() => upload(writeZip([['a/x.png', new Uint8Array([137, 80, 78, 71, 1, 2, 3])]]), { height: '2', width: '2' }, 'img.zip'), 422, 'DATASET_IMAGE_INVALID');
    await refused(() => upload(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), {}, 'noise.bin'), 400, 'INVALID_ARGUMENT');
    await refused(() => upload(serializeDataset(dataset), { name: 'a\u0000b' }), 400, 'INVALID_FIELD');
    await refused(() => upload(serializeDataset(dataset), { validation: '0.6', test: '0.5' }), 400, 'INVALID_FIELD');
    await refused(() => upload(serializeDataset(dataset), { colour: 'red' }), 400, 'INVALID_FIELD');
    await refused(() => request(t.url).post('/v1/datasets/upload').set(auth()).field('name', 'x'), 400, 'FILE_MISSING');
    await refused(() => request(t.url).post('/v1/datasets').set(auth()).send({ builtin: 'cifar10' }), 404, 'DATASET_BUILTIN_UNKNOWN');
    await refused(() => request(t.url).post('/v1/datasets').set(auth()).send({ builtin: 'mnist', seed: -1 }), 400, 'VALIDATION_FAILED');
    await refused(() => request(t.url).post('/v1/datasets').set(auth()).send({ builtin: 'mnist', name: 'a\u0000b' }), 400, 'VALIDATION_FAILED');
    await refused(() => request(t.url).post('/v1/datasets').set(auth()).send({ builtin: 'mnist', validation: 0.5, test: 0.5 }), 400, 'INVALID_FIELD');
  });
});
