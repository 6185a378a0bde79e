import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { fixturesDir } from '../../src/core/testing/fixtures';
import { removeStoredBlob, storedBlobFiles } from '../utils/blob-files';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { binaryBody } from '../utils/binary-body';

const RESNET18 = fixturesDir('runtime', 'resnet18.weights.safetensors');

describe(`checkpoints API (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const upload = (buf: Buffer, fields: Record<string, string> = {}, filename = 'model.safetensors') => {
    let req = request(t.url).post('/v1/checkpoints').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', buf, filename);
  };

  it('stores resnet18 (47 MB) and serves identical bytes, ranges and 304s', async () => {
    const bytes = readFileSync(RESNET18);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const created = await request(t.url).post('/v1/checkpoints').set(auth()).field('name', 'resnet18').field('tags', '["imagenet","baseline"]').field('metrics', '{"top1":0.69}').attach('file', RESNET18).expect(201);
    expect(created.body).toMatchObject({ name: 'resnet18', sha256: sha, sizeBytes: bytes.length, originalFormat: 'safetensors', tags: ['imagenet', 'baseline'], metrics: { top1: 0.69 } });
    const conv1 = created.body.tensors.find((x: { name: string }) => x.name === 'conv1.weight');
    expect(conv1).toMatchObject({ dtype: 'F32', shape: [64, 3, 7, 7] });
    const id = created.body.id as string;

    const full = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).buffer(true).parse(binaryBody as never).expect(200);
    expect(full.headers.etag).toBe(`"${sha}"`);
    expect(createHash('sha256').update(full.body as Buffer).digest('hex')).toBe(sha);

    const part = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).set('Range', 'bytes=1000-200999').buffer(true).parse(binaryBody as never).expect(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-200999/${bytes.length}`);
    expect(Buffer.compare(part.body as Buffer, bytes.subarray(1000, 201000))).toBe(0);

    const suffix = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).set('Range', 'bytes=-16').buffer(true).parse(binaryBody as never).expect(206);
    expect(Buffer.compare(suffix.body as Buffer, bytes.subarray(bytes.length - 16))).toBe(0);

    await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).set('If-None-Match', `"${sha}"`).expect(304);
    const bad = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).set('Range', `bytes=${bytes.length + 5}-`).expect(416);
    expect(bad.body.code).toBe('RANGE_NOT_SATISFIABLE');
    const head = await request(t.url).head(`/v1/checkpoints/${id}/weights`).set(auth()).expect(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(head.headers.etag).toBe(`"${sha}"`);
  });

  it('answers Range requests as RFC 9110 has them: one range 206, anything else the whole file, a stale If-Range the whole file', async () => {
    const bytes = smallCheckpoint(40);
    const created = await upload(bytes, { name: 'ranges' }).expect(201);
    const { id, sha256 } = created.body as { id: string; sha256: string };
    const get = (headers: Record<string, string>) => {
      let req = request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth());
      for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
      return req.buffer(true).parse(binaryBody as never);
    };
    const whole = async (headers: Record<string, string>) => {
      const res = await get(headers).expect(200);
      expect(res.headers['content-range']).toBeUndefined();
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
      expect(res.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    };
    await whole({ Range: 'bytes=0-3,10-19' });
    await whole({ Range: 'items=0-3' });
    await whole({ Range: 'bytes=9-2' });
    await whole({ Range: 'bytes=0-3', 'If-Range': '"0000"' });
    await whole({ Range: 'bytes=0-3', 'If-Range': `W/"${sha256}"` });
    await whole({ Range: 'bytes=0-3', 'If-Range': 'Tue, 01 Jan 2030 00:00:00 GMT' });

    const part = await get({ Range: 'bytes=0-3', 'If-Range': `"${sha256}"` }).expect(206);
    expect(part.headers['content-range']).toBe(`bytes 0-3/${bytes.length}`);
    expect(Buffer.compare(part.body as Buffer, bytes.subarray(0, 4))).toBe(0);
    const lower = await get({ Range: 'BYTES=4-7' }).expect(206);
    expect(Buffer.compare(lower.body as Buffer, bytes.subarray(4, 8))).toBe(0);

    const unsatisfiable = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).set('Range', `bytes=${bytes.length}-`).expect(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(unsatisfiable.body.code).toBe('RANGE_NOT_SATISFIABLE');
    expect(unsatisfiable.headers['cache-control']).toBe('no-store');
    expect(unsatisfiable.headers.etag).not.toBe(`"${sha256}"`);
    expect(unsatisfiable.headers['content-disposition']).toBeUndefined();
  });

  it('never lets an error response carry the immutable caching of the bytes, even when it fails after the headers were prepared', async () => {
    const missing = await request(t.url).get('/v1/checkpoints/00000000-0000-4000-8000-000000000000/weights').set(auth()).expect(404);
    expect(missing.headers['cache-control']).toBe('no-store');

    const bytes = smallCheckpoint(41);
    const created = await upload(bytes, { name: 'lost-bytes' }).expect(201);
    const { id, sha256 } = created.body as { id: string; sha256: string };
    await removeStoredBlob(t.dataDir, sha256);
    const lost = await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).expect(500);
    expect(lost.body.code).toBe('INTERNAL');
    expect(lost.headers['cache-control']).toBe('no-store');
    expect(lost.headers.etag).not.toBe(`"${sha256}"`);
    expect(lost.headers['content-disposition']).toBeUndefined();
    await request(t.url).delete(`/v1/checkpoints/${id}`).set(auth()).expect(204);
  });

  it('shares one blob between identical uploads and keeps it until the last user is deleted', async () => {
    const before = (await storedBlobFiles(t.dataDir)).length;
    const a = await upload(smallCheckpoint(1), { name: 'dup-a' }).expect(201);
    const b = await upload(smallCheckpoint(1), { name: 'dup-b' }).expect(201);
    expect(a.body.sha256).toBe(b.body.sha256);
    expect((await storedBlobFiles(t.dataDir)).length).toBe(before + 1);
    await request(t.url).delete(`/v1/checkpoints/${a.body.id}`).set(auth()).expect(204);
    expect((await storedBlobFiles(t.dataDir)).length).toBe(before + 1);
    await request(t.url).get(`/v1/checkpoints/${b.body.id}/weights`).set(auth()).expect(200);
    await request(t.url).delete(`/v1/checkpoints/${b.body.id}`).set(auth()).expect(204);
    expect((await storedBlobFiles(t.dataDir)).length).toBe(before);
    await request(t.url).get(`/v1/checkpoints/${b.body.id}`).set(auth()).expect(404);
  });

  it('refuses to delete a checkpoint that another one derives from (409)', async () => {
    const parent = await upload(smallCheckpoint(2), { name: 'parent' }).expect(201);
    const child = await upload(smallCheckpoint(3), { name: 'child', parentIds: parent.body.id }).expect(201);
    expect(child.body.parentIds).toEqual([parent.body.id]);
    const refused = await request(t.url).delete(`/v1/checkpoints/${parent.body.id}`).set(auth()).expect(409);
    expect(refused.body.code).toBe('CHECKPOINT_IN_USE');
    await request(t.url).get(`/v1/checkpoints/${parent.body.id}`).set(auth()).expect(200);
    await request(t.url).delete(`/v1/checkpoints/${child.body.id}`).set(auth()).expect(204);
    await request(t.url).delete(`/v1/checkpoints/${parent.body.id}`).set(auth()).expect(204);
  });

  it('lists with cursor pagination and tag filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await upload(smallCheckpoint(10 + i), { name: `page-${i}`, tags: i % 2 ? 'odd,paged' : 'even,paged' }).expect(201)).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(t.url).get('/v1/checkpoints').query({ tag: 'paged', limit: 2, ...(cursor ? { cursor } : {}) }).set(auth()).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const odd = await request(t.url).get('/v1/checkpoints').query({ tag: 'odd' }).set(auth()).expect(200);
    expect(odd.body.items.map((c: { id: string }) => c.id).sort()).toEqual([ids[1], ids[3]].sort());
    const badCursor = await request(t.url).get('/v1/checkpoints').query({ cursor: 'nonsense' }).set(auth()).expect(400);
    expect(badCursor.body.code).toBe('INVALID_FIELD');
  });

  it('reports tensor statistics, directly and through a job', async () => {
    const c = await upload(smallCheckpoint(0), { name: 'stats' }).expect(201);
    const a = await request(t.url).get(`/v1/checkpoints/${c.body.id}/tensors/a`).set(auth()).expect(200);
    // a = [0, 1, 2, 3, 0, -5]
    const mean = 1 / 6;
    const std = Math.sqrt([0, 1, 2, 3, 0, -5].reduce((s, v) => s + (v - mean) ** 2, 0) / 6);
    expect(a.body).toMatchObject({ name: 'a', dtype: 'F32', shape: [2, 3], count: 6, min: -5, max: 3, zeroFraction: 2 / 6 });
    expect(a.body.mean).toBeCloseTo(mean, 10);
    expect(a.body.std).toBeCloseTo(std, 10);
    const missing = await request(t.url).get(`/v1/checkpoints/${c.body.id}/tensors/nope`).set(auth()).expect(404);
    expect(missing.body.code).toBe('TENSOR_NOT_FOUND');

    const started = await request(t.url).post(`/v1/checkpoints/${c.body.id}/statistics`).set(auth()).expect(202);
    expect(started.headers.location).toBe(`/v1/jobs/${started.body.id}`);
    let job = started.body;
    for (let i = 0; i < 100 && !['succeeded', 'failed'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await request(t.url).get(`/v1/jobs/${job.id}`).set(auth()).expect(200)).body;
    }
    expect(job.status).toBe('succeeded');
    expect(job.progress).toBe(1);
    expect(job.result.tensors.b).toMatchObject({ dtype: 'I64', count: 1, min: 7, max: 7 });
    expect(job.result.tensors.a.min).toBe(-5);
  });
});
