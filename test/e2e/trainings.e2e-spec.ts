import { rm } from 'node:fs/promises';
import request from 'supertest';
import { serializeDataset } from '../../src/core/datasets';
import { startServerProcess, type ServerProcess } from '../utils/server-process';
import { auth, databaseLabel, makeDataDir, resetPostgres, startTestApp, testDatabaseUrl, type TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

interface TrainingBody {
  id: string;
  status: string;
  jobId: string;
  progress: { step: number; totalSteps: number; imagesPerSecond: number } | null;
  curve: { epoch: number; loss: number; accuracy: number; evaluation: { top1: number } | null }[];
  checkpointIds: string[];
  resultCheckpointId: string | null;
  startCheckpointId: string | null;
  error: { code: string; message: string } | null;
}

/** 96 8×8 gray images of three classes told apart by where a bright square sits. */
function squaresDataset(classCount = 3, labelOffset = 0): Buffer {
  const n = 96;
  const inputs = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    labels[i] = label + labelOffset;
    for (let p = 0; p < 64; p++) inputs[i * 64 + p] = Math.floor(rand() * 60);
    const x0 = label * 3;
    for (let y = 2; y < 5; y++) for (let x = x0; x < x0 + 2; x++) inputs[i * 64 + y * 8 + x] = 200 + Math.floor(rand() * 55);
  }
  return Buffer.from(serializeDataset({ shape: [n, 1, 8, 8], inputs, labels, classCount }));
}

async function setUp(url: string, dataset = squaresDataset()): Promise<{ architectureId: string; datasetId: string; trainSize: number }> {
  const architectureId = (await request(url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', inChannels: 1 }).expect(201)).body.id as string;
  const stored = (await request(url).post('/v1/datasets/upload').set(auth()).attach('file', dataset, 'squares.safetensors').field('seed', '1').expect(201)).body;
  return { architectureId, datasetId: stored.id as string, trainSize: stored.splits.sizes.train as number };
}

const trainingBody = (architectureId: string, datasetId: string, extra: Record<string, unknown> = {}) => ({
  start: { initialization: { architectureId, method: 'torch-default', seed: 3 } },
  datasetId,
  optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { name: 'cosine', warmupSteps: 2 },
  epochs: 2,
  batchSize: 16,
  augment: { randomCrop: { padding: 1 }, horizontalFlip: true },
  seed: 11,
  ...extra,
});

async function finished(url: string, id: string, timeoutMs = 120_000): Promise<TrainingBody> {
  return waitFor(
    `training ${id} to finish`,
    async () => {
      const body = (await request(url).get(`/v1/trainings/${id}`).set(auth()).expect(200)).body as TrainingBody;
      return ['succeeded', 'failed', 'cancelled'].includes(body.status) ? body : undefined;
    },
    timeoutMs,
    100,
  );
}

describe(`trainings API (${databaseLabel()})`, () => {
  let t: TestApp;
  let architectureId: string;
  let datasetId: string;

  beforeAll(async () => {
    t = await startTestApp({ resetDb: true, env: { WEIGHTSMITH_TRAINING_STATE_SECONDS: '0' } });
    ({ architectureId, datasetId } = await setUp(t.url));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('trains to a `trained` checkpoint with a learning curve, progress and lineage', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { saveEvery: 1 })).expect(202);
    expect(created.headers.location).toBe(`/v1/trainings/${created.body.id}`);
    const done = await finished(t.url, created.body.id as string);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.curve.map((p) => p.epoch)).toEqual([1, 2]);
    for (const p of done.curve) {
      expect(Number.isFinite(p.loss)).toBe(true);
      expect(p.evaluation?.top1).toBeGreaterThanOrEqual(0);
    }
    expect(done.progress).toMatchObject({ step: done.progress!.totalSteps });
    expect(done.progress!.imagesPerSecond).toBeGreaterThan(0);
    // saveEvery 1: the model after epoch 1, then the final one.
    expect(done.checkpointIds).toHaveLength(2);
    expect(done.resultCheckpointId).toBe(done.checkpointIds[1]);
    const result = (await request(t.url).get(`/v1/checkpoints/${done.resultCheckpointId}`).set(auth()).expect(200)).body;
    expect(result).toMatchObject({ kind: 'trained', architectureId, parentIds: [done.startCheckpointId] });
    expect(result.metadata).toMatchObject({ trainingId: done.id, datasetId, final: true });
    const names = (result.tensors as { name: string; dtype: string }[]).map((x) => [x.name, x.dtype]);
    expect(names).toContainEqual(['bn1.num_batches_tracked', 'I64']);
    // The resumable state is gone once the run succeeded.
    const states = (await request(t.url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items;
    expect(states).toEqual([]);
    // Its inputs cannot be deleted while the training refers to them.
    await request(t.url).delete(`/v1/datasets/${datasetId}`).set(auth()).expect(409);
  });

  it.each([
    ['an option of another optimizer', { optimizer: { name: 'sgd', lr: 0.1, topC: 5 } }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['an unknown optimizer', { optimizer: { name: 'lion', lr: 0.1 } }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['a non-finite learning rate', { optimizer: { name: 'adam', lr: 1e400 } }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['both epochs and steps', { steps: 5 }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['an unknown dataset', { datasetId: '00000000-0000-4000-8000-000000000000' }, 404, 'DATASET_NOT_FOUND'],
  ])('refuses %s and stores nothing', async (_what, extra, status, code) => {
    const before = (await request(t.url).get('/v1/trainings').set(auth()).expect(200)).body.items.length;
    const res = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, extra)).expect(status);
    expect(res.body.code).toBe(code);
    expect((await request(t.url).get('/v1/trainings').set(auth()).expect(200)).body.items.length).toBe(before);
  });

  it('refuses data the model cannot take: a class count beyond its outputs, images of another shape', async () => {
    const manyClasses = (await request(t.url).post('/v1/datasets/upload').set(auth()).attach('file', squaresDataset(12, 9), 'many.safetensors').expect(201)).body.id;
    const res = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, manyClasses)).expect(422);
    expect(res.body.code).toBe('TRAINING_DATA_MISMATCH');
    const rgb = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20' }).expect(201)).body.id;
    const res2 = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(rgb, datasetId)).expect(422);
    expect(res2.body.code).toBe('TRAINING_DATA_MISMATCH');
  });

  it('stops a diverging run with TRAINING_DIVERGED', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { optimizer: { name: 'sgd', lr: 1e30 }, schedule: { name: 'constant' } })).expect(202);
    const done = await finished(t.url, created.body.id as string);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('TRAINING_DIVERGED');
    expect(done.checkpointIds).toEqual([]);
  });

  it('cancelling a running training stores nothing', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { epochs: 40, saveEvery: 1 })).expect(202);
    const id = created.body.id as string;
    await waitFor('a saved model', async () => {
      const body = (await request(t.url).get(`/v1/trainings/${id}`).set(auth()).expect(200)).body as TrainingBody;
      return body.checkpointIds.length > 0 ? true : undefined;
    }, 120_000, 50);
    const cancelled = (await request(t.url).post(`/v1/trainings/${id}/cancel`).set(auth()).expect(200)).body as TrainingBody;
    const done = await finished(t.url, id);
    expect(done.status).toBe('cancelled');
    expect(done.checkpointIds).toEqual([]);
    for (const checkpointId of cancelled.checkpointIds) await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(404);
    const states = (await request(t.url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items;
    expect(states).toEqual([]);
  });
});

describe(`a training killed mid-epoch resumes on its trajectory (${databaseLabel()})`, () => {
  let dataDir: string;
  let server: ServerProcess | null = null;
  const env = { WEIGHTSMITH_TRAINING_STATE_SECONDS: '0', WEIGHTSMITH_JOB_HEARTBEAT_MS: '100', WEIGHTSMITH_JOB_STALE_AFTER_MS: '1000' };
  beforeEach(async () => {
    dataDir = await makeDataDir();
    const db = testDatabaseUrl();
    if (db) await resetPostgres(db);
  });
  afterEach(async () => {
    await server?.kill('SIGKILL');
    server = null;
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['sgd', { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }],
    ['adam-cm', { name: 'adam-cm', lr: 0.002, topC: 5, decay: 0.7 }],
  ])('%s: the resumed run ends with the weights of an uninterrupted one', async (_name, optimizer) => {
    server = await startServerProcess(dataDir, env);
    const { architectureId, datasetId, trainSize } = await setUp(server.url);
    const body = trainingBody(architectureId, datasetId, { optimizer, epochs: 6 });
    const killed = (await request(server.url).post('/v1/trainings').set(auth()).send(body).expect(202)).body.id as string;
    const url = server.url;
    // Kill it in the middle of an epoch, after it saved a state there.
    await waitFor('a state saved mid-epoch', async () => {
      const training = (await request(url).get(`/v1/trainings/${killed}`).set(auth()).expect(200)).body as TrainingBody;
      if (training.status === 'succeeded') throw new Error('the training finished before it could be killed');
      const states = (await request(url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items as { metadata: { step: number } }[];
      const perEpoch = Math.ceil(trainSize / 16);
      return states.some((s) => s.metadata.step > perEpoch && s.metadata.step % perEpoch !== 0) ? true : undefined;
    }, 120_000, 20);
    await server.kill('SIGKILL');

    server = await startServerProcess(dataDir, env);
    const resumed = await finished(server.url, killed, 240_000);
    expect(resumed.error).toBeNull();
    expect(resumed.status).toBe('succeeded');
    const job = (await request(server.url).get(`/v1/jobs/${resumed.jobId}`).set(auth()).expect(200)).body;
    expect(job.attempts).toBe(2);

    const straight = (await request(server.url).post('/v1/trainings').set(auth()).send(body).expect(202)).body.id as string;
    const uninterrupted = await finished(server.url, straight, 240_000);
    expect(uninterrupted.status).toBe('succeeded');
    const sha = async (id: string | null) => (await request(server!.url).get(`/v1/checkpoints/${id}`).set(auth()).expect(200)).body.sha256 as string;
    // Content-addressed: equal bytes, equal weights and buffers.
    expect(await sha(resumed.resultCheckpointId)).toBe(await sha(uninterrupted.resultCheckpointId));
    expect(resumed.curve).toEqual(uninterrupted.curve);
  });
});
