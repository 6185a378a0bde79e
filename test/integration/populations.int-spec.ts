import { rm } from 'node:fs/promises';
import { populationAcrossRestart } from '../utils/populations';
import type { ServerProcess } from '../utils/server-process';
import { databaseLabel, makeDataDir, resetPostgres, testDatabaseUrl } from '../utils/test-app';

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
  const server: { current: ServerProcess | null } = { current: null };
  beforeAll(async () => {
    dataDir = await makeDataDir();
    const db = testDatabaseUrl();
    if (db) await resetPostgres(db);
  });
  afterAll(async () => {
    await server.current?.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('holds every update across a restart', async () => {
    const result = await populationAcrossRestart(dataDir, server, { members: MEMBERS, rounds: ROUNDS, alpha: ALPHA });
    process.stdout.write(`populations int: ${MEMBERS} × ${ROUNDS} pushes with a restart in ${result.seconds.toFixed(1)} s (${result.retried} pushes sent again)\n`);
  });
});
