import { rm } from 'node:fs/promises';
import request from 'supertest';
import { startServerProcess, type ServerProcess } from '../utils/server-process';
import { auth, databaseLabel, makeDataDir, resetPostgres, testDatabaseUrl } from '../utils/test-app';
import { finishedTraining, setUpTraining, trainingBody, type TrainingBody } from '../utils/trainings';
import { waitFor } from '../utils/wait-for';

// A real server process is SIGKILLed in the middle of an epoch and started again: the job is
// re-queued and resumes from the state it saved, which must end where an uninterrupted run ends.
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
    const { architectureId, datasetId, trainSize } = await setUpTraining(server.url);
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
    const resumed = await finishedTraining(server.url, killed, 240_000);
    expect(resumed.error).toBeNull();
    expect(resumed.status).toBe('succeeded');
    const job = (await request(server.url).get(`/v1/jobs/${resumed.jobId}`).set(auth()).expect(200)).body;
    expect(job.attempts).toBe(2);

    const straight = (await request(server.url).post('/v1/trainings').set(auth()).send(body).expect(202)).body.id as string;
    const uninterrupted = await finishedTraining(server.url, straight, 240_000);
    expect(uninterrupted.status).toBe('succeeded');
    const sha = async (id: string | null) => (await request(server!.url).get(`/v1/checkpoints/${id}`).set(auth()).expect(200)).body.sha256 as string;
    // Content-addressed: equal bytes, equal weights and buffers.
    expect(await sha(resumed.resultCheckpointId)).toBe(await sha(uninterrupted.resultCheckpointId));
    expect(resumed.curve).toEqual(uninterrupted.curve);
  });
});
