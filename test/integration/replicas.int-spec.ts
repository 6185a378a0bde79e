import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import request from 'supertest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { startServerProcess, type ServerProcess } from '../utils/server-process';
import { s3Client, s3Env } from '../utils/swift-s3';
import { auth, makeDataDir, resetPostgres, testDatabaseUrl } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

/**
 * Two server processes on one PostgreSQL database and one S3 bucket, as `docker-compose.yml` runs
 * them behind one port: any replica serves what another stored, ran or deployed.
 */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the integration tier needs PostgreSQL (TEST_DATABASE_URL) and its Swift s3api (npm run test:integration)`);
  return value;
}

/** `weightsmith_initializations_computed_total` summed over methods, from /metrics. */
async function computedInitializations(url: string): Promise<number> {
  const text = (await request(url).get('/metrics')).text;
  return [...text.matchAll(/^weightsmith_initializations_computed_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('two replicas on one PostgreSQL and one bucket', () => {
  const dataDirs: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    const db = testDatabaseUrl();
    if (!db) required('TEST_DATABASE_URL');
    await resetPostgres(db!);
    const endpoint = required('TEST_S3_ENDPOINT');
    const bucket = `ws-replicas-${randomBytes(4).toString('hex')}`;
    await s3Client(endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
    // info logs: the test counts which replica ran each job.
    const env = { ...s3Env(endpoint, bucket, 'shared/'), WEIGHTSMITH_LOG_LEVEL: 'info', WEIGHTSMITH_DEPLOYMENT_SYNC_MS: '300', WEIGHTSMITH_JOB_POLL_MS: '20' };
    for (let i = 0; i < 2; i++) dataDirs.push(await makeDataDir());
    [a, b] = await Promise.all(dataDirs.map((dir) => startServerProcess(dir, env)));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
    await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('downloads through one replica what was uploaded through the other', async () => {
    const bytes = smallCheckpoint(11);
    const created = await request(a.url).post('/v1/checkpoints').set(auth()).attach('file', bytes, 'shared.safetensors').expect(201);
    const got = await request(b.url).get(`/v1/checkpoints/${created.body.id}/weights`).set(auth()).buffer(true).parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    });
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe(`"${created.body.sha256}"`);
    expect(Buffer.compare(got.body as Buffer, bytes)).toBe(0);
  });

  it('runs each job exactly once, whichever replica it was enqueued on', async () => {
    const checkpoint = await request(a.url).post('/v1/checkpoints').set(auth()).attach('file', smallCheckpoint(12), 'jobs.safetensors').expect(201);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const via = i % 2 === 0 ? a : b;
      ids.push((await request(via.url).post(`/v1/checkpoints/${checkpoint.body.id}/statistics`).set(auth()).expect(202)).body.id);
    }
    for (const id of ids) {
      const job = await waitFor(`job ${id}`, async () => {
        const j = (await request(b.url).get(`/v1/jobs/${id}`).set(auth())).body as { status: string; attempts: number; result: unknown };
        return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
      });
      expect([id, job.status, job.attempts]).toEqual([id, 'succeeded', 1]);
    }
    // Each job started once in all, on one replica or the other.
    const starts = (out: string, id: string) => out.split('\n').filter((line) => line.includes('"job started"') && line.includes(id)).length;
    for (const id of ids) expect([id, starts(a.output(), id) + starts(b.output(), id)]).toEqual([id, 1]);
  });

  it('computes identical initialization requests sent to both at once once', async () => {
    const arch = await request(a.url).post('/v1/architectures').set(auth()).send({ zoo: 'squeezenet1_1' }).expect(201);
    const before = (await computedInitializations(a.url)) + (await computedInitializations(b.url));
    const body = { architectureId: arch.body.id, method: 'kaiming', seed: 7 };
    const answers = await Promise.all([a, b].map((r) => request(r.url).post('/v1/initializations').set(auth()).send(body)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(answers[0].body.checkpointId).toBe(answers[1].body.checkpointId);
    expect(answers[0].body.id).toBe(answers[1].body.id);
    expect((await computedInitializations(a.url)) + (await computedInitializations(b.url)) - before).toBe(1);
  });

  it('serves a deployment made on one replica from the other without a restart, and unloads it on both when deleted', async () => {
    const arch = await request(a.url).post('/v1/architectures').set(auth()).send({ zoo: 'squeezenet1_0' }).expect(201);
    const init = await request(a.url).post('/v1/initializations').set(auth()).send({ architectureId: arch.body.id, method: 'torch-default', seed: 1 }).expect(201);
    await request(a.url).post('/v1/deployments').set(auth()).send({ name: 'shared-sq', checkpointId: init.body.checkpointId, engine: 'onnxruntime' }).expect(201);
    await waitFor('replica b to load the deployment', async () => ((await request(b.url).get('/v2/models/shared-sq/ready').set(auth())).status === 200 ? true : undefined));
    const input = { inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.cos(i) / 3) }] };
    const [onA, onB] = await Promise.all([a, b].map((r) => request(r.url).post('/v2/models/shared-sq/infer').set(auth()).send(input).expect(200)));
    expect(onB.body.outputs[0].shape).toEqual([1, 1000]);
    expect(onB.body.outputs[0].data).toEqual(onA.body.outputs[0].data);
    expect((await request(b.url).get('/v1/deployments/shared-sq').set(auth()).expect(200)).body.checkpointId).toBe(init.body.checkpointId);

    await request(a.url).delete('/v1/deployments/shared-sq').set(auth()).expect(204);
    await request(a.url).get('/v2/models/shared-sq').set(auth()).expect(404);
    await waitFor('replica b to unload the deployment', async () => ((await request(b.url).get('/v2/models/shared-sq').set(auth())).status === 404 ? true : undefined));
    expect((await request(b.url).get('/v1/deployments').set(auth()).expect(200)).body.items).toEqual([]);
  });
});
