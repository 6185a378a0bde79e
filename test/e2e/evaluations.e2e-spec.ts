import * as tf from '@tensorflow/tfjs-core';
import request from 'supertest';
import { gatherBatch, serializeDataset, splitDataset, type Dataset, type Normalization } from '../../src/core/datasets';
import { readSafetensors } from '../../src/core/formats/safetensors';
import { parseGraphJson } from '../../src/core/graph/graph-json';
import type { ArchitectureGraph } from '../../src/core/graph/ir';
import { bufferSource } from '../../src/core/io/random-access';
import { hostTensorFromBytes, tensorSetWeights, toFloat32Array } from '../../src/core/runtime';
import { recalibrateBatchNorm } from '../../src/core/train/recalibrate-bn';
import { TrainableGraph, type StateTensor } from '../../src/core/train/trainable-graph';
import type { LoadedDataset } from '../../src/modules/datasets/dataset.types';
import { recalibrationBatches } from '../../src/modules/evaluations/evaluation-runner';
import { binaryBody } from '../utils/binary-body';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

/** n gray 8×8 examples of `classes` classes (channels × 8 × 8), deterministic. */
function images(n: number, classes: number, channels = 1): Dataset {
  const size = channels * 64;
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 5) % classes);
  const inputs = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 0.37) + labels[Math.floor(i / size)] * 0.5);
  return { shape: [n, channels, 8, 8], inputs, labels, classCount: classes };
}

/** Top-1 and mean cross-entropy computed here from logits, independently of the service. */
function score(logits: Float32Array, labels: Int32Array, k: number): { top1: number; loss: number } {
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = Array.from(logits.subarray(i * k, (i + 1) * k));
    const best = row.indexOf(Math.max(...row));
    if (best === labels[i]) correct++;
    const max = Math.max(...row);
    loss += Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max - row[labels[i]];
  }
  return { top1: correct / labels.length, loss: loss / labels.length };
}

describe(`evaluations API (${databaseLabel()})`, () => {
  let t: TestApp;
  let checkpointId: string;
  let graph: ArchitectureGraph;
  let state: Map<string, StateTensor>;
  let datasetId: string;
  let normalization: Normalization;
  const data = images(60, 3);
  const split = { seed: 4, validation: 0.1, test: 0.3 };

  const post = (body: object) => request(t.url).post('/v1/evaluations').set(auth()).send(body);
  const upload = (dataset: Dataset, fields: Record<string, string> = {}) => {
    let req = request(t.url).post('/v1/datasets/upload').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', Buffer.from(serializeDataset(dataset)), 'data.safetensors');
  };
  async function finished(id: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 600; i++) {
      const res = await request(t.url).get(`/v1/evaluations/${id}`).set(auth()).expect(200);
      if (!['queued', 'running'].includes(res.body.status)) return res.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`evaluation ${id} did not finish`);
  }
  /** The model run here, on tfjs (the service uses onnxruntime), on the test split. */
  function direct(weights: Map<string, StateTensor>): { top1: number; loss: number } {
    const indices = splitDataset(data.labels, 3, split).test;
    const batch = gatherBatch(data, indices, normalization);
    const model = new TrainableGraph(graph, weights);
    try {
      const input = tf.tensor(batch.inputs, batch.shape);
      const logits = model.evaluate(input);
      input.dispose();
      return score(logits, batch.labels, 3);
    } finally {
      model.dispose();
    }
  }

  beforeAll(async () => {
    t = await startTestApp();
    const arch = await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', inChannels: 1, imageSize: 8, numClasses: 3 }).expect(201);
    const init = await request(t.url).post('/v1/initializations').set(auth()).send({ architectureId: arch.body.id, method: 'kaiming', seed: 1 }).expect(201);
    checkpointId = init.body.checkpointId;
    graph = parseGraphJson((await request(t.url).get(`/v1/architectures/${arch.body.id}/graph`).set(auth()).expect(200)).body);
    const bytes = (await request(t.url).get(`/v1/checkpoints/${checkpointId}/weights`).set(auth()).buffer(true).parse(binaryBody as never).expect(200)).body as Buffer;
    const weights = await tensorSetWeights(await readSafetensors(bufferSource(new Uint8Array(bytes)), { maxHeaderBytes: 1 << 24 }));
    state = new Map([...weights].map(([name, w]) => [name, { shape: [...w.shape], data: Float32Array.from(toFloat32Array(hostTensorFromBytes(w.dtype, w.shape, w.data))) }]));
    const ds = await upload(data, { seed: String(split.seed), validation: String(split.validation), test: String(split.test) }).expect(201);
    datasetId = ds.body.id;
    normalization = ds.body.normalization;
  });
  afterAll(async () => {
    await t.close();
  });

  it('scores a checkpoint in eval mode as the model computes directly, and shows the score on the checkpoint', async () => {
    const created = await post({ checkpointIds: [checkpointId], datasetId, split: 'test' }).expect(202);
    expect(created.headers.location).toBe(`/v1/evaluations/${created.body.id}`);
    expect(created.body).toMatchObject({ datasetId, split: 'test', batchNorm: 'eval', options: { batchSize: 128, recalibrateBatches: 20, seed: 0 }, checkpointIds: [checkpointId], results: [] });
    const done = await finished(created.body.id);
    expect(done.status).toBe('succeeded');
    const [result] = done.results as { checkpointId: string; top1: number; top5: number | null; loss: number; count: number }[];
    const expected = direct(state);
    expect(result).toMatchObject({ checkpointId, count: 18, top5: null });
    expect(result.top1).toBeCloseTo(expected.top1, 10);
    expect(result.loss).toBeCloseTo(expected.loss, 4);

    const checkpoint = (await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(200)).body;
    expect(checkpoint.metrics).toEqual({ top1: result.top1, loss: result.loss });
    expect(checkpoint.metricsSource).toMatchObject({ evaluationId: created.body.id, datasetId, split: 'test', batchNorm: 'eval', count: 18 });
    const listed = await request(t.url).get(`/v1/evaluations?checkpointId=${checkpointId}`).set(auth()).expect(200);
    expect(listed.body.items.map((e: { id: string }) => e.id)).toContain(created.body.id);
  });

  it('recalibrates BatchNorm on training batches first (update_bn), which changes the score as the recalibrated model computes', async () => {
    const options = { batchSize: 8, recalibrateBatches: 3, seed: 2 };
    const created = await post({ checkpointIds: [checkpointId], datasetId, split: 'test', batchNorm: 'recalibrate', options }).expect(202);
    const done = await finished(created.body.id);
    expect(done.status).toBe('succeeded');
    const [result] = done.results as { top1: number; loss: number }[];

    const splits = splitDataset(data.labels, 3, split);
    const loaded = { dataset: data, splits, normalization } as unknown as LoadedDataset;
    const recalibrated = await recalibrateBatchNorm(graph, state, recalibrationBatches(loaded, 3, 8, 2));
    // The fresh initialization's statistics (mean 0, var 1) are replaced by the data's.
    expect(Array.from(recalibrated.tensors.get('bn1.running_mean')!.data).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(recalibrated.counters.get('bn1.num_batches_tracked')).toBe(3);
    const expected = direct(new Map([...state, ...recalibrated.tensors]));
    expect(result.top1).toBeCloseTo(expected.top1, 10);
    expect(result.loss).toBeCloseTo(expected.loss, 4);
    expect(result.loss).not.toBeCloseTo(direct(state).loss, 3);
    const checkpoint = (await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(200)).body;
    expect(checkpoint.metricsSource).toMatchObject({ evaluationId: created.body.id, batchNorm: 'recalibrate' });
  });

  it('stores nothing when cancelled', async () => {
    const before = (await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(200)).body;
    const created = await post({ checkpointIds: [checkpointId], datasetId, split: 'train', batchNorm: 'recalibrate', options: { batchSize: 1, recalibrateBatches: 5000 } }).expect(202);
    await request(t.url).delete(`/v1/jobs/${created.body.jobId}`).set(auth()).expect(202);
    const done = await finished(created.body.id);
    expect(done).toMatchObject({ status: 'cancelled', results: [] });
    const after = (await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(200)).body;
    expect(after.metrics).toEqual(before.metrics);
    expect(after.metricsSource).toEqual(before.metricsSource);
  });

  it('keeps its dataset: DELETE answers 409 until the evaluations are deleted', async () => {
    const other = await upload(images(30, 3), { name: 'kept' }).expect(201);
    const created = await post({ checkpointIds: [checkpointId], datasetId: other.body.id, split: 'test' }).expect(202);
    const refused = await request(t.url).delete(`/v1/datasets/${other.body.id}`).set(auth()).expect(409);
    expect(refused.body).toMatchObject({ code: 'DATASET_IN_USE', details: { references: { evaluation: [created.body.id] } } });
    await finished(created.body.id);
    await request(t.url).delete(`/v1/evaluations/${created.body.id}`).set(auth()).expect(204);
    await request(t.url).get(`/v1/evaluations/${created.body.id}`).set(auth()).expect(404);
    await request(t.url).delete(`/v1/datasets/${other.body.id}`).set(auth()).expect(204);
  });

  it('refuses bad requests with stable codes and stores nothing', async () => {
    const count = async () => (await request(t.url).get('/v1/evaluations?limit=200').set(auth()).expect(200)).body.items.length as number;
    const jobs = async () => (await request(t.url).get('/v1/jobs?limit=200').set(auth()).expect(200)).body.items.length as number;
    const before = [await count(), await jobs()];
    const unknown = '00000000-0000-4000-8000-000000000000';
    const wide = (await upload(images(20, 3, 2), { name: 'two-channels' }).expect(201)).body.id;
    const four = (await upload(images(20, 4), { name: 'four-classes' }).expect(201)).body.id;
    const bare = (await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', smallCheckpoint(3), 'bare.safetensors').expect(201)).body.id;
    const cases: [object, number, string][] = [
      [{ checkpointIds: [unknown], datasetId, split: 'test' }, 404, 'CHECKPOINT_NOT_FOUND'],
      [{ checkpointIds: [checkpointId], datasetId: unknown, split: 'test' }, 404, 'DATASET_NOT_FOUND'],
      [{ checkpointIds: [checkpointId], datasetId, split: 'holdout' }, 400, 'VALIDATION_FAILED'],
      [{ checkpointIds: [checkpointId], datasetId, split: 'test', batchNorm: 'train' }, 400, 'VALIDATION_FAILED'],
      [{ checkpointIds: [], datasetId, split: 'test' }, 400, 'VALIDATION_FAILED'],
      [{ checkpointIds: [checkpointId], datasetId: wide, split: 'test' }, 422, 'DATASET_MODEL_MISMATCH'],
      [{ checkpointIds: [checkpointId], datasetId: four, split: 'test' }, 422, 'DATASET_MODEL_MISMATCH'],
      [{ checkpointIds: [bare], datasetId, split: 'test' }, 422, 'EVALUATION_INVALID'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body).expect(status);
      expect(res.body.code).toBe(code);
    }
    const mismatch = await post({ checkpointIds: [checkpointId], datasetId: four, split: 'test' }).expect(422);
    expect(mismatch.body.details).toMatchObject({ reason: 'class-count', classCount: 4 });
    expect([await count(), await jobs()]).toEqual(before);
  });
});
