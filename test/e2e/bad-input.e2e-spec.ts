import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import { STORAGE_TYPES, storageId, tensorValue, writeTorchZip } from '../../src/core/formats/torch/testing/checkpoint-writers';
import { orderedDict, persistent, type PickleValue } from '../../src/core/formats/torch/testing/pickle-writer';
import { rawSafetensors, smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** Each case: the upload body, the expected status and error code. */
const MALFORMED_FILES: [string, () => Buffer, number, string][] = [
  ['a file shorter than the 8-byte length', () => Buffer.from([1, 2, 3]), 422, 'SAFETENSORS_TRUNCATED'],
  ['a data section cut short', () => smallCheckpoint().subarray(0, smallCheckpoint().length - 5), 422, 'SAFETENSORS_OFFSETS_INVALID'],
  ['a header length beyond the file', () => rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1]), 5000n), 422, 'SAFETENSORS_HEADER_OUT_OF_BOUNDS'],
  ['an oversized header', () => rawSafetensors('{}', Buffer.alloc(0), 1n << 40n), 422, 'SAFETENSORS_HEADER_TOO_LARGE'],
  ['a header that is not JSON', () => rawSafetensors('{"a": {dtype', f32([1])), 422, 'SAFETENSORS_HEADER_INVALID_JSON'],
  ['an unknown dtype', () => rawSafetensors({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, Buffer.alloc(16)), 422, 'SAFETENSORS_UNKNOWN_DTYPE'],
  [
    'overlapping offsets',
    () => rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32([1, 2, 3])),
    422,
    'SAFETENSORS_OFFSETS_INVALID',
  ],
  ['out-of-bounds offsets', () => rawSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32([1, 2])), 422, 'SAFETENSORS_OFFSETS_INVALID'],
  ['a shape that does not match the byte length', () => rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32([1, 2])), 422, 'SAFETENSORS_SHAPE_MISMATCH'],
  [
    'duplicate tensor names',
    () => rawSafetensors('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32([1, 2])),
    422,
    'SAFETENSORS_DUPLICATE_TENSOR',
  ],
  ['an empty upload', () => Buffer.alloc(0), 400, 'FILE_EMPTY'],
];

const MALFORMED_FIELDS: [string, Record<string, string>, number, string][] = [
  ['metrics that are not JSON', { metrics: '{"top1": 0.7' }, 400, 'INVALID_FIELD'],
  ['metrics that are not numbers', { metrics: '{"top1": "high"}' }, 400, 'INVALID_FIELD'],
  ['tags that are not strings', { tags: '[1, 2]' }, 400, 'INVALID_FIELD'],
  ['tags that are not JSON', { tags: '["a", ' }, 400, 'INVALID_FIELD'],
  ['an architectureId that is not a UUID', { architectureId: 'resnet' }, 400, 'INVALID_FIELD'],
  ['an unknown architectureId', { architectureId: randomUUID() }, 404, 'ARCHITECTURE_NOT_FOUND'],
  ['an unknown parent', { parentIds: randomUUID() }, 404, 'CHECKPOINT_NOT_FOUND'],
  ['an unknown field', { colour: 'blue' }, 400, 'INVALID_FIELD'],
];

describe(`bad input changes nothing (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEIGHTSMITH_MAX_JSON_BYTES: '2048' } });
  });
  afterAll(async () => {
    await t.close();
  });

  async function expectNothingStored(): Promise<void> {
    const list = await request(t.url).get('/v1/checkpoints').set(auth()).expect(200);
    expect(list.body.items).toEqual([]);
    expect(await storedBlobFiles(t.dataDir)).toEqual([]);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  }

  it.each(MALFORMED_FILES)('refuses %s', async (_label, body, status, code) => {
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).field('name', 'bad').attach('file', body(), 'bad.safetensors').expect(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code });
    expect(typeof res.body.detail).toBe('string');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
    await expectNothingStored();
  });

  it.each(MALFORMED_FIELDS)('refuses %s', async (_label, fields, status, code) => {
    let req = request(t.url).post('/v1/checkpoints').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    const res = await req.attach('file', smallCheckpoint(), 'ok.safetensors').expect(status);
    expect(res.body.code).toBe(code);
    await expectNothingStored();
  });

  it('refuses an upload without a file', async () => {
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).field('name', 'x').expect(400);
    expect(res.body.code).toBe('FILE_MISSING');
    await expectNothingStored();
  });

  it('refuses a body that is not multipart', async () => {
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).set('Content-Type', 'application/octet-stream').send(smallCheckpoint()).expect(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored();
  });

  it('refuses a JSON body over the limit and malformed JSON', async () => {
    const big = await request(t.url).post('/v1/api-keys').set(auth()).send({ name: 'x'.repeat(5000), scopes: ['read'] }).expect(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
    const broken = await request(t.url).post('/v1/api-keys').set(auth()).set('Content-Type', 'application/json').send('{"name": ').expect(400);
    expect(broken.body.code).toBe('VALIDATION_FAILED');
    const invalid = await request(t.url).post('/v1/api-keys').set(auth()).send({ name: 'x', scopes: ['root'] }).expect(400);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
  });

  it.each([
    ['GET', '/v1/checkpoints/:uuid', 404, 'CHECKPOINT_NOT_FOUND'],
    ['GET', '/v1/checkpoints/:uuid/weights', 404, 'CHECKPOINT_NOT_FOUND'],
    ['GET', '/v1/checkpoints/:uuid/tensors/a', 404, 'CHECKPOINT_NOT_FOUND'],
    ['DELETE', '/v1/checkpoints/:uuid', 404, 'CHECKPOINT_NOT_FOUND'],
    ['POST', '/v1/checkpoints/:uuid/statistics', 404, 'CHECKPOINT_NOT_FOUND'],
    ['GET', '/v1/jobs/:uuid', 404, 'JOB_NOT_FOUND'],
    ['DELETE', '/v1/jobs/:uuid', 404, 'JOB_NOT_FOUND'],
    ['DELETE', '/v1/api-keys/:uuid', 404, 'API_KEY_NOT_FOUND'],
    ['GET', '/v1/checkpoints/not-a-uuid', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/nothing-here', 404, 'NOT_FOUND'],
  ] as const)('%s %s gives %i %s', async (method, template, status, code) => {
    const path = template.replace(':uuid', randomUUID());
    const agent = request(t.url);
    const req = method === 'GET' ? agent.get(path) : method === 'DELETE' ? agent.delete(path) : agent.post(path);
    const res = await req.set(auth()).expect(status);
    expect(res.body.code).toBe(code);
    await expectNothingStored();
  });
});

describe(`upload size limit (${databaseLabel()})`, () => {
  it('refuses an upload over WEIGHTSMITH_MAX_UPLOAD_BYTES with 413 and keeps nothing', async () => {
    const t = await startTestApp({ env: { WEIGHTSMITH_MAX_UPLOAD_BYTES: '1024' } });
    try {
      const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', Buffer.alloc(64 * 1024, 1), 'big.safetensors').expect(413);
      expect(res.body.code).toBe('UPLOAD_TOO_LARGE');
      expect(await storedBlobFiles(t.dataDir)).toEqual([]);
      expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

const MiB = 1024 * 1024;

/** A zip .pt whose tensors are `views` full views of one float32 storage of `bytes` bytes. */
function torchViews(views: number, bytes: number, opts: { deflate?: boolean } = {}): Buffer {
  const numel = bytes / 4;
  const storage = persistent(storageId({ key: '0', type: STORAGE_TYPES.F32, numel }, 'zip'));
  const entries: Record<string, PickleValue> = {};
  for (let i = 0; i < views; i++) entries[`layer${i}.weight`] = tensorValue(storage, 0, [numel], [1]);
  return Buffer.from(writeTorchZip(orderedDict(entries), { '0': new Uint8Array(bytes) }, opts));
}

describe(`converted size limit (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // Only the absolute limit here: a deflated upload of zeros expands far past 16 times its size.
    t = await startTestApp({ env: { WEIGHTSMITH_MAX_CHECKPOINT_BYTES: '160MiB', WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION: '1000000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['a deflate bomb (192 MiB of zeros in about 200 KB)', () => torchViews(1, 192 * MiB, { deflate: true }), 192 * MiB],
    ['200 views of one 1 MiB storage', () => torchViews(200, MiB), 200 * MiB],
  ])('refuses %s with 413 CHECKPOINT_TOO_LARGE and keeps nothing', async (_label, body, convertedBytes) => {
    const file = body();
    expect(file.length).toBeLessThan(2 * MiB);
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).field('name', 'big').attach('file', file, 'big.pt').expect(413);
    expect(res.body).toMatchObject({ status: 413, code: 'CHECKPOINT_TOO_LARGE' });
    expect(res.body.detail).toContain(String(convertedBytes));
    const list = await request(t.url).get('/v1/checkpoints').set(auth()).expect(200);
    expect(list.body.items).toEqual([]);
    expect(await storedBlobFiles(t.dataDir)).toEqual([]);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  });

  it('answers /health/live while it converts a large allowed upload', async () => {
    const file = torchViews(1, 128 * MiB, { deflate: true });
    let finished = false;
    const upload = request(t.url)
      .post('/v1/checkpoints')
      .set(auth())
      .field('name', 'allowed')
      .attach('file', file, 'allowed.pt')
      .then((res) => {
        finished = true;
        return res;
      });
    let answeredDuringUpload = 0;
    while (!finished) {
      const live = await request(t.url).get('/health/live');
      expect(live.status).toBe(200);
      if (!finished) answeredDuringUpload++;
    }
    const res = await upload;
    expect(res.status).toBe(201);
    expect(res.body.sizeBytes).toBeGreaterThan(128 * MiB);
    expect(answeredDuringUpload).toBeGreaterThan(0);
  });
});

describe(`text a database cannot store: NUL characters (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function expectNothingStored(): Promise<void> {
    expect((await request(t.url).get('/v1/checkpoints').set(auth()).expect(200)).body.items).toEqual([]);
    expect((await request(t.url).get('/v1/architectures').set(auth()).expect(200)).body.items).toEqual([]);
    expect((await request(t.url).get('/v1/api-keys').set(auth()).expect(200)).body.items).toHaveLength(1);
    expect(await storedBlobFiles(t.dataDir)).toEqual([]);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  }

  it.each([
    ['a query tag', () => request(t.url).get('/v1/checkpoints?tag=a%00b'), /query tag contains a NUL character/],
    ['a query name', () => request(t.url).get('/v1/ghns').query({ name: 'g\u0000' }), /query name contains a NUL character/],
    ['a path parameter', () => request(t.url).get('/v1/deployments/a%00b'), /path parameter name contains a NUL character/],
    ['an API key name', () => request(t.url).post('/v1/api-keys').send({ name: 'ci\u0000', scopes: ['read'] }), /body name contains a NUL character/],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_label, send, message) => {
    const res = await send().set(auth()).expect(400);
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: expect.stringMatching(message) });
    await expectNothingStored();
  });

  const header = (name: string, metadata?: Record<string, string>) =>
    rawSafetensors({ ...(metadata ? { __metadata__: metadata } : {}), [name]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1]));

  it.each<[string, Record<string, string>, () => Buffer, string, RegExp]>([
    ['a checkpoint name', { name: 'resnet\u0000' }, () => smallCheckpoint(), 'INVALID_FIELD', /field "name" contains a NUL character/],
    ['a tag', { tags: 'a,b\u0000' }, () => smallCheckpoint(), 'INVALID_FIELD', /field "tags" contains a NUL character/],
    ['a metrics key (JSON escape)', { metrics: '{"top\\u00001": 0.7}' }, () => smallCheckpoint(), 'VALIDATION_FAILED', /metrics\["top\\u00001"\] \(key\) contains a NUL/],
    ['a tensor name in the file', {}, () => header('conv\u0000.weight'), 'VALIDATION_FAILED', /manifest\[0\]\.name contains a NUL character/],
    ['a metadata key in the file', {}, () => header('w', { 'k\u0000': 'v' }), 'VALIDATION_FAILED', /metadata\["k\\u0000"\] \(key\) contains a NUL/],
  ])('refuses %s in an upload with 400 and stores no blob', async (_label, fields, file, code, message) => {
    let req = request(t.url).post('/v1/checkpoints').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    const res = await req.attach('file', file(), 'w.safetensors').expect(400);
    expect(res.body).toMatchObject({ code, detail: expect.stringMatching(message) });
    await expectNothingStored();
  });
});
