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

describe(`the last admin key (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const keys = async (key?: string) => (await request(t.url).get('/v1/api-keys').set(auth(key)).expect(200)).body.items as { id: string; scopes: string[]; revokedAt: string | null }[];
  const activeAdmins = async (key: string) => (await keys(key)).filter((k) => k.revokedAt === null && k.scopes.includes('admin'));
  const newAdmin = async (by?: string) => (await request(t.url).post('/v1/api-keys').set(auth(by)).send({ name: 'admin', scopes: ['admin'] }).expect(201)).body as { id: string; key: string };

  it('cannot revoke itself when it is the last one (409), and nobody is locked out', async () => {
    const [bootstrap] = await keys();
    const refused = await request(t.url).delete(`/v1/api-keys/${bootstrap.id}`).set(auth()).expect(409);
    expect(refused.body).toMatchObject({ status: 409, code: 'API_KEY_LAST_ADMIN' });
    expect((await keys())[0].revokedAt).toBeNull();

    // With a second admin key, the first can go; then the second is the last one.
    const second = await newAdmin();
    await request(t.url).delete(`/v1/api-keys/${bootstrap.id}`).set(auth(second.key)).expect(200);
    await request(t.url).get('/v1/api-keys').set(auth()).expect(401);
    const last = await request(t.url).delete(`/v1/api-keys/${second.id}`).set(auth(second.key)).expect(409);
    expect(last.body.code).toBe('API_KEY_LAST_ADMIN');
    expect((await activeAdmins(second.key)).map((k) => k.id)).toEqual([second.id]);

    // Two admins revoking each other at once: at most one succeeds, one admin key stays.
    const third = await newAdmin(second.key);
    const results = await Promise.all([
      request(t.url).delete(`/v1/api-keys/${third.id}`).set(auth(second.key)),
      request(t.url).delete(`/v1/api-keys/${second.id}`).set(auth(third.key)),
    ]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const survivor = results[0].status === 200 ? second.key : third.key;
    expect(await activeAdmins(survivor)).toHaveLength(1);
  });
});
