import request from 'supertest';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { finishedTraining, setUpTraining, squaresDataset, trainingBody, type TrainingBody } from '../utils/trainings';
import { waitFor } from '../utils/wait-for';

describe(`trainings API (${databaseLabel()})`, () => {
  let t: TestApp;
  let architectureId: string;
  let datasetId: string;

  beforeAll(async () => {
    t = await startTestApp({ resetDb: true, env: { WEIGHTSMITH_TRAINING_STATE_SECONDS: '0' } });
    ({ architectureId, datasetId } = await setUpTraining(t.url));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('trains to a `trained` checkpoint with a learning curve, progress and lineage', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { saveEvery: 1 })).expect(202);
    expect(created.headers.location).toBe(`/v1/trainings/${created.body.id}`);
    const done = await finishedTraining(t.url, created.body.id as string);
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
    ['a negative learning rate', { optimizer: { name: 'adam', lr: -0.1 } }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['both epochs and steps', { steps: 5 }, 422, 'TRAINING_OPTIONS_INVALID'],
    ['an unknown dataset', { datasetId: '00000000-0000-4000-8000-000000000000' }, 404, 'DATASET_NOT_FOUND'],
  ])('refuses %s and stores nothing', async (_what, extra, status, code) => {
    const before = (await request(t.url).get('/v1/trainings').set(auth()).expect(200)).body.items.length;
    const res = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, extra)).expect(status);
    expect(res.body.code).toBe(code);
    expect((await request(t.url).get('/v1/trainings').set(auth()).expect(200)).body.items.length).toBe(before);
  });

  it('refuses a learning rate that is not finite (1e400 parses as Infinity)', async () => {
    const text = JSON.stringify(trainingBody(architectureId, datasetId, { optimizer: { name: 'adam', lr: 'LR' } })).replace('"LR"', '1e400');
    const res = await request(t.url).post('/v1/trainings').set(auth()).set('content-type', 'application/json').send(text).expect(422);
    expect(res.body.code).toBe('TRAINING_OPTIONS_INVALID');
  });

  it('refuses data the model cannot take: a class count beyond its outputs, images of another shape', async () => {
    const manyClasses = (await request(t.url).post('/v1/datasets/upload').set(auth()).attach('file', squaresDataset(12, 9), 'many.safetensors').expect(201)).body.id;
    const res = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, manyClasses)).expect(422);
    expect(res.body.code).toBe('TRAINING_DATA_MISMATCH');
    const rgb = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', imageSize: 8 }).expect(201)).body.id;
    const res2 = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(rgb, datasetId)).expect(422);
    expect(res2.body.code).toBe('TRAINING_DATA_MISMATCH');
  });

  it('stops a diverging run with TRAINING_DIVERGED', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { optimizer: { name: 'sgd', lr: 1e12 }, schedule: { name: 'constant' } })).expect(202);
    const done = await finishedTraining(t.url, created.body.id as string);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('TRAINING_DIVERGED');
    expect(done.checkpointIds).toEqual([]);
    // Nothing to resume: its state is gone.
    const states = (await request(t.url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items as { metadata: { trainingId: string } }[];
    expect(states.filter((c) => c.metadata.trainingId === done.id)).toEqual([]);
  });

  it('cancelling a running training stores nothing', async () => {
    const created = await request(t.url).post('/v1/trainings').set(auth()).send(trainingBody(architectureId, datasetId, { epochs: 40, saveEvery: 1 })).expect(202);
    const id = created.body.id as string;
    await waitFor('a saved model', async () => {
      const body = (await request(t.url).get(`/v1/trainings/${id}`).set(auth()).expect(200)).body as TrainingBody;
      return body.checkpointIds.length > 0 ? true : undefined;
    }, 120_000, 50);
    // Its resumable state is a checkpoint listed only when asked for by kind.
    const states = (await request(t.url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items as { metadata: { trainingId: string } }[];
    expect(states.filter((c) => c.metadata.trainingId === id).length).toBeGreaterThan(0);
    const listed = (await request(t.url).get('/v1/checkpoints?limit=200').set(auth()).expect(200)).body.items as { kind: string }[];
    expect(listed.filter((c) => c.kind === 'training-state')).toEqual([]);
    const cancelled = (await request(t.url).post(`/v1/trainings/${id}/cancel`).set(auth()).expect(200)).body as TrainingBody;
    const done = await finishedTraining(t.url, id);
    expect(done.status).toBe('cancelled');
    expect(done.checkpointIds).toEqual([]);
    for (const checkpointId of cancelled.checkpointIds) await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(404);
    const statesAfter = (await request(t.url).get('/v1/checkpoints?kind=training-state').set(auth()).expect(200)).body.items as { metadata: { trainingId: string } }[];
    expect(statesAfter.filter((c) => c.metadata.trainingId === id)).toEqual([]);
  });
});
