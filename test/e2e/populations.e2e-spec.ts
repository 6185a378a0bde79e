import { rm } from 'node:fs/promises';
import request from 'supertest';
import { serializeSafetensors } from '../../src/core/formats/safetensors';
import { storedBlobFiles } from '../utils/blob-files';
import { decodeAnswer, expectedPull, memberValues, memberWeights, populationAcrossRestart, push, type PushAnswer } from '../utils/populations';
import type { ServerProcess } from '../utils/server-process';
import { auth, databaseLabel, makeDataDir, resetPostgres, startTestApp, testDatabaseUrl, type TestApp } from '../utils/test-app';

const MEMBERS = 8;
const ROUNDS = 30;
const ALPHA = 0.5;

async function createPopulation(url: string, body: Record<string, unknown>): Promise<string> {
  const res = await request(url).post('/v1/populations').set(auth()).send(body).expect(201);
  return res.body.id as string;
}

describe(`populations (PAPA coordinator, ${databaseLabel()})`, () => {
  describe('in process', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('refuses bad input with stable codes and stores nothing', async () => {
      const bad = (body: Record<string, unknown>) => request(t.url).post('/v1/populations').set(auth()).send(body);
      expect((await bad({ size: 0, variant: 'papa' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
      expect((await bad({ size: 2, variant: 'papa-3' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
      expect((await bad({ size: 2, variant: 'papa-all', alpha: 0.5 }).expect(422)).body.code).toBe('POPULATION_INVALID');
      expect((await bad({ size: 2, variant: 'papa', alpha: 1.5 }).expect(400)).body.code).toBe('VALIDATION_FAILED');

      const id = await createPopulation(t.url, { size: 3, variant: 'papa', alpha: ALPHA });
      expect((await request(t.url).get(`/v1/populations/${id}/average`).set(auth()).expect(409)).body.code).toBe('POPULATION_EMPTY');
      const first = await push(t.url, id, 0, 0, memberWeights(0, 0));
      expect(first.status).toBe(200);
      const blobsBefore = (await storedBlobFiles(t.dataDir)).length;

      const nul = serializeSafetensors([{ name: 'w\u0000', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
      const cases: [string, () => Promise<PushAnswer>, number, string][] = [
        ['an unknown population', () => push(t.url, '00000000-0000-4000-8000-000000000000', 0, 1, memberWeights(0, 1)), 404, 'POPULATION_NOT_FOUND'],
        ['k out of range', () => push(t.url, id, 3, 1, memberWeights(0, 1)), 404, 'POPULATION_MEMBER_NOT_FOUND'],
        ['k not an integer', () => push(t.url, id, 'one', 1, memberWeights(0, 1)), 400, 'VALIDATION_FAILED'],
        ['no step', () => push(t.url, id, 1, null, memberWeights(1, 1)), 400, 'VALIDATION_FAILED'],
        ['a negative step', () => push(t.url, id, 1, -1, memberWeights(1, 1)), 400, 'VALIDATION_FAILED'],
        ['another content type', () => push(t.url, id, 1, 1, memberWeights(1, 1), 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['an empty body', () => push(t.url, id, 1, 1, new Uint8Array(0)), 400, 'FILE_EMPTY'],
        ['malformed safetensors', () => push(t.url, id, 1, 1, Uint8Array.from([200, 0, 0, 0, 0, 0, 0, 0, 123, 34])), 422, 'SAFETENSORS_HEADER_OUT_OF_BOUNDS'],
        ['a NUL in a tensor name', () => push(t.url, id, 1, 1, nul), 400, 'VALIDATION_FAILED'],
        ['another tensor name', () => push(t.url, id, 1, 1, memberWeights(1, 1, { wName: 'v' })), 422, 'POPULATION_LAYOUT_MISMATCH'],
        ['another shape', () => push(t.url, id, 1, 1, memberWeights(1, 1, { wShape: [4] })), 422, 'POPULATION_LAYOUT_MISMATCH'],
      ];
      for (const [what, send, status, code] of cases) {
        const answer = await send();
        expect({ what, status: answer.status, code: (answer.body as { code?: string }).code }).toEqual({ what, status, code });
      }
      const view = (await request(t.url).get(`/v1/populations/${id}`).set(auth()).expect(200)).body;
      expect(view.version).toBe(1);
      expect(view.members.map((m: { k: number }) => m.k)).toEqual([0]);
      expect(view.layout).toEqual([
        { name: 'b', dtype: 'F64', shape: [2] },
        { name: 'n', dtype: 'I64', shape: [1] },
        { name: 'w', dtype: 'F32', shape: [2, 2] },
      ]);
      expect((await storedBlobFiles(t.dataDir)).length).toBe(blobsBefore);
      await request(t.url).get('/v1/populations/not-a-uuid').set(auth()).expect(400);
    });

    it('leaves out a member that stops pushing (with a warning), keeps only live versions and deletes everything', async () => {
      const id = await createPopulation(t.url, { size: 3, variant: 'papa', alpha: ALPHA, staleAfterSeconds: 1 });
      const blobsBefore = (await storedBlobFiles(t.dataDir)).length;
      for (const k of [0, 1, 2]) expect((await push(t.url, id, k, 0, memberWeights(k, 0))).status).toBe(200);
      const withAll = await push(t.url, id, 0, 1, memberWeights(0, 1));
      expect(withAll.snapshot.map((m) => m.k)).toEqual([0, 1, 2]);
      expect({ w: withAll.w, b: withAll.b }).toEqual(expectedPull(0, 1, withAll.snapshot, ALPHA));
      expect(withAll.n).toBe(0n);

      await new Promise((r) => setTimeout(r, 1500));
      await push(t.url, id, 1, 2, memberWeights(1, 2));
      const without = await push(t.url, id, 0, 2, memberWeights(0, 2));
      expect(without.snapshot).toEqual([
        { k: 0, version: without.version, step: 2 },
        { k: 1, version: without.version - 1, step: 2 },
      ]);
      expect({ w: without.w, b: without.b }).toEqual(expectedPull(0, 2, without.snapshot, ALPHA));

      const view = (await request(t.url).get(`/v1/populations/${id}`).set(auth()).expect(200)).body;
      expect(view.members.map((m: { k: number; active: boolean; step: number }) => [m.k, m.active, m.step])).toEqual([
        [0, true, 2],
        [1, true, 2],
        [2, false, 0],
      ]);
      expect(view.warnings).toEqual([expect.stringMatching(/^member 2 has not pushed for \d+ s and is excluded from the mean$/)]);

      const average = await decodeAnswer(await fetch(`${t.url}/v1/populations/${id}/average`, { headers: auth() }));
      expect(average.snapshot.map((m) => m.k)).toEqual([0, 1]);
      const [a, b] = [memberValues(0, 2), memberValues(1, 2)];
      expect(average.w).toEqual(a.w.map((v, i) => Math.fround((v + b.w[i]) / 2)));

      // Replaced versions are gone once no snapshot reads them: one blob per member remains.
      expect((await storedBlobFiles(t.dataDir)).length).toBe(blobsBefore + 3);
      await request(t.url).delete(`/v1/populations/${id}`).set(auth()).expect(204);
      expect((await request(t.url).get(`/v1/populations/${id}`).set(auth()).expect(404)).body.code).toBe('POPULATION_NOT_FOUND');
      expect((await storedBlobFiles(t.dataDir)).length).toBe(blobsBefore);
    });

    it('papa-all replaces a member by the mean; a step off the schedule comes back unchanged', async () => {
      const id = await createPopulation(t.url, { size: 2, variant: 'papa-all', every: 10 });
      await push(t.url, id, 0, 10, memberWeights(0, 10));
      const merged = await push(t.url, id, 1, 10, memberWeights(1, 10));
      expect(merged.applied).toBe('papa-all');
      const [a, b] = [memberValues(0, 10), memberValues(1, 10)];
      expect(merged.w).toEqual(a.w.map((v, i) => Math.fround((v + b.w[i]) / 2)));
      const off = await push(t.url, id, 1, 11, memberWeights(1, 11));
      expect(off.applied).toBe('none');
      expect(off.w).toEqual(memberValues(1, 11).w);
    });
  });

  describe('a real server process', () => {
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

    // The integration tier runs 8 × 100 rounds (test/integration/populations.int-spec.ts).
    it(`${MEMBERS} members push concurrently for ${ROUNDS} rounds, across a SIGKILL and restart, without a lost or mixed update`, async () => {
      const result = await populationAcrossRestart(dataDir, server, { members: MEMBERS, rounds: ROUNDS, alpha: ALPHA });
      process.stdout.write(`populations e2e: ${MEMBERS} × ${ROUNDS} pushes with a restart in ${result.seconds.toFixed(1)} s (${result.retried} pushes sent again)\n`);
    });
  });
});
