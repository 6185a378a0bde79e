import request from 'supertest';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

const LIMIT = 4;

describe(`rate limits per API key (${databaseLabel()})`, () => {
  let t: TestApp;
  /** Keys made by the admin key in beforeAll (the admin key spends LIMIT of its budget doing so). */
  const keys: string[] = [];
  beforeAll(async () => {
    t = await startTestApp({ env: { WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    for (let i = 0; i < LIMIT; i++) {
      keys.push((await request(t.url).post('/v1/api-keys').set(auth()).send({ name: `tenant-${i}`, scopes: ['read'] }).expect(201)).body.key as string);
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives two keys from one address independent budgets; 429 on /v1 is a problem with Retry-After', async () => {
    const [a, b] = keys;
    for (let i = 0; i < LIMIT; i++) await request(t.url).get('/v1/checkpoints').set(auth(a)).expect(200);
    const limited = await request(t.url).get('/v1/checkpoints').set(auth(a)).expect(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The admin key spent its budget in beforeAll: a's use did not touch b's.
    await request(t.url).get('/v1/checkpoints').set(auth()).expect(429);
    for (let i = 0; i < LIMIT; i++) await request(t.url).get('/v1/checkpoints').set(auth(b)).expect(200);
    await request(t.url).get('/v1/checkpoints').set(auth(b)).expect(429);
  });

  it("answers 429 on /v2 with the protocol's {error} body and Retry-After", async () => {
    const c = keys[2];
    for (let i = 0; i < LIMIT; i++) await request(t.url).get('/v2').set(auth(c)).expect(200);
    const limited = await request(t.url).get('/v2').set(auth(c)).expect(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(limited.body)).toEqual(['error']);
    expect(limited.body.error).toMatch(/rate limit of 4 requests per minute/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it("limits requests without a valid key per address, without spending a valid key's budget", async () => {
    for (let i = 0; i < LIMIT; i++) {
      const refused = await request(t.url).get('/v1/checkpoints').set(auth(`ws_guess_${i}`)).expect(401);
      expect(refused.body.code).toBe('UNAUTHENTICATED');
    }
    const limited = await request(t.url).get('/v1/checkpoints').set(auth('ws_guess_again')).expect(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    await request(t.url).get('/v1/checkpoints').expect(429);
    // By default X-Forwarded-For is not believed: the connection's address is still the one limited.
    await request(t.url).get('/v1/checkpoints').set('X-Forwarded-For', '203.0.113.9').expect(429);
    // The valid key at the same address has its whole budget.
    const d = keys[3];
    for (let i = 0; i < LIMIT; i++) await request(t.url).get('/v1/checkpoints').set(auth(d)).expect(200);
  });

  it('never limits /health/* nor /v2/health/*, with every budget spent', async () => {
    await request(t.url).get('/v1/checkpoints').expect(429);
    await request(t.url).get('/v1/checkpoints').set(auth()).expect(429);
    for (let i = 0; i < 3 * LIMIT; i++) {
      await request(t.url).get('/health/live').expect(200);
      await request(t.url).get('/health/ready').expect(200);
      await request(t.url).get('/v2/health/live').expect(200);
      await request(t.url).get('/v2/health/ready').expect(200);
    }
  });
});

describe(`rate limits behind a trusted proxy (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '2', WEIGHTSMITH_TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('tracks the forwarded client address when WEIGHTSMITH_TRUST_PROXY trusts the proxy', async () => {
    const from = (address: string) => request(t.url).get('/v1/checkpoints').set('X-Forwarded-For', address);
    await from('203.0.113.1').expect(401);
    await from('203.0.113.1').expect(401);
    await from('203.0.113.1').expect(429);
    await from('203.0.113.2').expect(401);
    await from('198.51.100.7, 203.0.113.2').expect(401);
    await from('203.0.113.2').expect(429);
  });
});
