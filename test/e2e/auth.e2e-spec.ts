import request from 'supertest';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

describe(`API keys and scopes (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const newKey = async (scopes: string[]) => (await request(t.url).post('/v1/api-keys').set(auth()).send({ name: scopes.join('+'), scopes }).expect(201)).body as { id: string; key: string };

  it('answers 401 without a key or with an unknown key', async () => {
    const none = await request(t.url).get('/v1/checkpoints').expect(401);
    expect(none.body.code).toBe('UNAUTHENTICATED');
    const wrong = await request(t.url).get('/v1/checkpoints').set(auth('ws_nope')).expect(401);
    expect(wrong.body.code).toBe('UNAUTHENTICATED');
    await request(t.url).post('/v1/checkpoints').attach('file', smallCheckpoint(), 'x.safetensors').expect(401);
  });

  it('lets a read-only key read but not write (403)', async () => {
    const reader = await newKey(['read']);
    await request(t.url).get('/v1/checkpoints').set(auth(reader.key)).expect(200);
    const refused = await request(t.url).post('/v1/checkpoints').set(auth(reader.key)).attach('file', smallCheckpoint(), 'x.safetensors').expect(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    const list = await request(t.url).get('/v1/checkpoints').set(auth()).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('lets a write key write but not manage keys', async () => {
    const writer = await newKey(['write']);
    await request(t.url).post('/v1/checkpoints').set(auth(writer.key)).attach('file', smallCheckpoint(), 'x.safetensors').expect(201);
    await request(t.url).get('/v1/checkpoints').set(auth(writer.key)).expect(200);
    await request(t.url).get('/v1/api-keys').set(auth(writer.key)).expect(403);
  });

  it('stops accepting a revoked key', async () => {
    const reader = await newKey(['read']);
    await request(t.url).get('/v1/checkpoints').set(auth(reader.key)).expect(200);
    await request(t.url).delete(`/v1/api-keys/${reader.id}`).set(auth()).expect(200);
    await request(t.url).get('/v1/checkpoints').set(auth(reader.key)).expect(401);
  });

  it('keeps health, metrics and docs public', async () => {
    await request(t.url).get('/health/live').expect(200);
    await request(t.url).get('/health/ready').expect(200);
    await request(t.url).get('/metrics').expect(200);
    await request(t.url).get('/openapi.json').expect(200);
  });
});

describe(`auth disabled explicitly (${databaseLabel()})`, () => {
  it('serves without a key when WEIGHTSMITH_AUTH=disabled', async () => {
    const t = await startTestApp({ env: { WEIGHTSMITH_AUTH: 'disabled' } });
    try {
      await request(t.url).get('/v1/checkpoints').expect(200);
    } finally {
      await t.close();
    }
  });
});
