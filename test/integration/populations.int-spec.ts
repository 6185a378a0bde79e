import { rm } from 'node:fs/promises';
import request from 'supertest';
import { decodeAnswer, pushRounds } from '../utils/populations';
import { startServerProcess, type ServerProcess } from '../utils/server-process';
import { auth, databaseLabel, makeDataDir, resetPostgres, testDatabaseUrl } from '../utils/test-app';

const MEMBERS = 8;
const ROUNDS = 100;
const ALPHA = 0.5;

/**
 * Acceptance of the PAPA coordinator: 8 members push concurrently for 100 rounds without a lost or
 * mixed update, and the population survives a SIGKILL of the server halfway (its state is in the
 * database and the blob store). Needs `npm run build`.
 */
describe(`populations: ${MEMBERS} members × ${ROUNDS} rounds (${databaseLabel()})`, () => {
  let dataDir: string;
  let server: ServerProcess | null = null;
  beforeAll(async () => {
    dataDir = await makeDataDir();
    const db = testDatabaseUrl();
    if (db) await resetPostgres(db);
  });
  afterAll(async () => {
    await server?.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('holds every update across a restart', async () => {
    server = await startServerProcess(dataDir);
    const created = await request(server.url).post('/v1/populations').set(auth()).send({ size: MEMBERS, variant: 'papa', alpha: ALPHA }).expect(201);
    const id = created.body.id as string;
    const result = await pushRounds({
      url: () => server!.url,
      id,
      members: MEMBERS,
      rounds: ROUNDS,
      alpha: ALPHA,
      restartAt: ROUNDS / 2,
      restart: async () => {
        await server!.kill('SIGKILL');
        server = await startServerProcess(dataDir);
      },
      check: (actual, expected, what) => expect({ what, actual }).toEqual({ what, actual: expected }),
    });
    const view = (await request(server.url).get(`/v1/populations/${id}`).set(auth()).expect(200)).body;
    expect(view.members.map((m: { k: number; step: number; version: number }) => [m.k, m.step, m.version])).toEqual(result.lastVersion.map((v, k) => [k, ROUNDS - 1, v]));
    expect(view.version).toBeGreaterThanOrEqual(MEMBERS * ROUNDS);
    expect(view.version).toBeLessThanOrEqual(MEMBERS * ROUNDS + result.retried);
    const average = await decodeAnswer(await fetch(`${server.url}/v1/populations/${id}/average`, { headers: auth() }));
    expect(average.snapshot.map((m) => [m.k, m.version])).toEqual(result.lastVersion.map((v, k) => [k, v]));
    process.stdout.write(`populations int: ${MEMBERS} × ${ROUNDS} pushes with a restart in ${result.seconds.toFixed(1)} s (${result.retried} pushes sent again)\n`);
  });
});
