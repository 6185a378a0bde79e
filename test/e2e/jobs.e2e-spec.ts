import request from 'supertest';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

describe(`jobs API without a worker (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // No worker in this process: jobs stay queued, as they would with workers elsewhere.
    t = await startTestApp({ env: { WEIGHTSMITH_JOBS: 'false' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('queues, lists, cancels and refuses a second cancel', async () => {
    const c = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', smallCheckpoint(), 'x.safetensors').expect(201);
    const job = (await request(t.url).post(`/v1/checkpoints/${c.body.id}/statistics`).set(auth()).expect(202)).body;
    expect(job).toMatchObject({ status: 'queued', type: 'checkpoint.statistics', progress: 0, checkpointId: c.body.id });

    const queued = await request(t.url).get('/v1/jobs').query({ status: 'queued' }).set(auth()).expect(200);
    expect(queued.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);

    // A checkpoint with an active job cannot be deleted.
    const busy = await request(t.url).delete(`/v1/checkpoints/${c.body.id}`).set(auth()).expect(409);
    expect(busy.body.code).toBe('CHECKPOINT_IN_USE');

    const cancelled = await request(t.url).delete(`/v1/jobs/${job.id}`).set(auth()).expect(202);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.finishedAt).not.toBeNull();
    const again = await request(t.url).delete(`/v1/jobs/${job.id}`).set(auth()).expect(409);
    expect(again.body.code).toBe('JOB_NOT_CANCELLABLE');

    const bad = await request(t.url).get('/v1/jobs').query({ status: 'sleeping' }).set(auth()).expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    await request(t.url).delete(`/v1/checkpoints/${c.body.id}`).set(auth()).expect(204);
  });

  it('pages through jobs with a cursor', async () => {
    const c = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', smallCheckpoint(9), 'y.safetensors').expect(201);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await request(t.url).post(`/v1/checkpoints/${c.body.id}/statistics`).set(auth()).expect(202)).body.id);
    const first = await request(t.url).get('/v1/jobs').query({ limit: 2, status: 'queued' }).set(auth()).expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await request(t.url).get('/v1/jobs').query({ limit: 2, status: 'queued', cursor: first.body.nextCursor }).set(auth()).expect(200);
    expect([...first.body.items, ...second.body.items].map((j: { id: string }) => j.id)).toEqual([...ids].reverse());
    expect(second.body.nextCursor).toBeNull();
  });
});
