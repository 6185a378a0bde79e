import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parseGhnConfig } from '../../src/core/ghn';
import { PrismaService } from '../../src/infra/database/prisma.service';
import { GhnsRepository } from '../../src/modules/ghns/ghns.repository';
import { GhnsService } from '../../src/modules/ghns/ghns.service';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import {
  fixtureConfigDocument,
  fixtureGhnJson,
  GHN3_JOBLIB,
  GHN3_SAFETENSORS,
  GHN_FIXTURES_DIR,
  GHN_FORMATS_DIR,
  sha256Of,
  withoutMetadata,
} from '../utils/ghn-fixtures';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

describe(`GHN models API (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const upload = (path: string, fields: Record<string, string> = {}) => {
    let req = request(t.url).post('/v1/ghns').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', path);
  };
  const checkpoint = async (id: string) => (await request(t.url).get(`/v1/checkpoints/${id}`).set(auth()).expect(200)).body;

  /** What a refused upload must leave unchanged; no temporary file may remain either. */
  async function storedState(): Promise<{ ghns: number; checkpoints: number; blobs: number; temporary: number }> {
    const ghns = (await request(t.url).get('/v1/ghns').query({ limit: 200 }).set(auth()).expect(200)).body.items.length;
    const checkpoints = (await request(t.url).get('/v1/checkpoints').query({ limit: 200 }).set(auth()).expect(200)).body.items.length;
    return { ghns, checkpoints, blobs: (await storedBlobFiles(t.dataDir)).length, temporary: (await temporaryBlobFiles(t.dataDir)).length };
  }

  it.each([
    ['joblib', 'joblib'],
    ['torchsave', 'torch-zip'],
    ['state_dict', 'torch-zip'],
  ])('registers the %s .pt layout, converted, with the config of ghn3_h32_l3', async (layout, originalFormat) => {
    const file = join(GHN_FORMATS_DIR, `ghn3_h32_l3.${layout}.pt`);
    const res = await upload(file).expect(201);
    expect(res.headers.location).toBe(`/v1/ghns/${res.body.id}`);
    // joblib and state_dict files carry no config (inferred from the keys); torchsave stores its own.
    expect(res.body).toMatchObject({
      name: `ghn3_h32_l3.${layout}`,
      config: fixtureConfigDocument('ghn3_h32_l3'),
      impl: 'ghn3',
      isGhn2: false,
      hid: 32,
      layers: 3,
      parameterCount: 1540464,
      source: 'upload',
      sourceSha256: sha256Of(file),
      isDefault: true,
    });
    const weights = await checkpoint(res.body.checkpointId);
    expect(weights).toMatchObject({ kind: 'ghn', name: `ghn3_h32_l3.${layout}`, originalFormat, tensorCount: fixtureGhnJson('ghn3_h32_l3').state_dict.length });
    expect(weights.sha256).not.toBe(res.body.sourceSha256);
  });

  it.each(['ghn3_h32_l3', 'ghn2mode_h32', 'ppuda_ghn2_h32'])('registers %s.safetensors with its fixture config', async (cfg) => {
    const file = join(GHN_FIXTURES_DIR, `${cfg}.safetensors`);
    const res = await upload(file, { name: `${cfg}-given`, config: readFileSync(join(GHN_FIXTURES_DIR, `${cfg}.json`), 'utf8') }).expect(201);
    const settings = parseGhnConfig(fixtureGhnJson(cfg));
    expect(res.body).toMatchObject({
      name: `${cfg}-given`,
      config: fixtureConfigDocument(cfg),
      impl: settings.impl,
      isGhn2: settings.isGhn2,
      hid: 32,
      layers: settings.layers,
      parameterCount: fixtureGhnJson(cfg).n_params,
      sourceSha256: sha256Of(file),
    });
    const weights = await checkpoint(res.body.checkpointId);
    expect(weights).toMatchObject({ kind: 'ghn', originalFormat: 'safetensors', sha256: sha256Of(file) });
  });

  it('takes the config as a file part too (curl -F config=@ghn.json), bounded like the text field', async () => {
    const cfg = 'ppuda_ghn2_h32';
    // Without its metadata the file alone would be read as GHN-2 mode: the attached config decides.
    const res = await request(t.url)
      .post('/v1/ghns')
      .set(auth())
      .field('name', `${cfg}-config-file`)
      .attach('config', join(GHN_FIXTURES_DIR, `${cfg}.json`))
      .attach('file', withoutMetadata(join(GHN_FIXTURES_DIR, `${cfg}.safetensors`)), `${cfg}.safetensors`)
      .expect(201);
    expect(res.body).toMatchObject({ name: `${cfg}-config-file`, config: fixtureConfigDocument(cfg) });
    const before = await storedState();
    const huge = await request(t.url)
      .post('/v1/ghns')
      .set(auth())
      .attach('config', Buffer.from(`{"pad": "${'x'.repeat(300 * 1024)}"}`), 'big.json')
      .attach('file', smallCheckpoint(), 'small.safetensors')
      .expect(400);
    expect(huge.body).toMatchObject({ code: 'INVALID_FIELD', detail: expect.stringMatching(/field config is longer than 262144 bytes/) });
    const twice = await request(t.url).post('/v1/ghns').set(auth()).field('config', '{}').attach('config', Buffer.from('{}'), 'c.json').attach('file', smallCheckpoint(), 'small.safetensors').expect(400);
    expect(twice.body).toMatchObject({ code: 'INVALID_FIELD', detail: 'field config was sent twice' });
    const other = await request(t.url).post('/v1/ghns').set(auth()).attach('extra', Buffer.from('{}'), 'c.json').attach('file', smallCheckpoint(), 'small.safetensors').expect(400);
    expect(other.body.code).toBe('MULTIPART_INVALID');
    expect(await storedState()).toEqual(before);
  });

  it("uses a safetensors file's own config, else infers it from the tensors", async () => {
    // The fixtures' safetensors carry their constructor config in the header metadata.
    const own = await upload(join(GHN_FIXTURES_DIR, 'ppuda_ghn2_h32.safetensors'), { name: 'ppuda-own' }).expect(201);
    expect(own.body.config).toEqual(fixtureConfigDocument('ppuda_ghn2_h32'));
    const ghn3 = await request(t.url).post('/v1/ghns').set(auth()).attach('file', withoutMetadata(GHN3_SAFETENSORS), 'ghn3-inferred.safetensors').expect(201);
    expect(ghn3.body.config).toEqual({ impl: 'ghn3', graph_builder: 'ghn3', ctor_config: fixtureGhnJson('ghn3_h32_l3').ctor_config });
    // Without its config a ppuda file runs as ghn3's from_pretrained runs it: GHN-2 mode, S = 11.
    const ppuda = await request(t.url).post('/v1/ghns').set(auth()).attach('file', withoutMetadata(join(GHN_FIXTURES_DIR, 'ppuda_ghn2_h32.safetensors')), 'ppuda-inferred.safetensors').expect(201);
    expect(ppuda.body.config).toEqual({
      impl: 'ghn3',
      graph_builder: 'ghn3',
      ctor_config: { ...fixtureGhnJson('ghn2mode_h32').ctor_config, max_shape: [64, 64, 11, 11] },
    });
  });

  it('refuses a pickle that would run code and stores nothing', async () => {
    const before = await storedState();
    const res = await upload(join(GHN_FORMATS_DIR, 'malicious.pkl.pt')).expect(422);
    expect(res.body.code).toBe('PICKLE_FORBIDDEN_GLOBAL');
    expect(await storedState()).toEqual({ ...before, temporary: 0 });
  });

  it('refuses weights that do not match their config (422 GHN_INVALID) and stores nothing', async () => {
    const before = await storedState();
    const wrongConfig = await upload(GHN3_SAFETENSORS, { name: 'mismatch', config: JSON.stringify(fixtureConfigDocument('ghn2mode_h32')) }).expect(422);
    expect(wrongConfig.body.code).toBe('GHN_INVALID');
    expect(wrongConfig.body.detail).toMatch(/do not match the given GHN config \(impl ghn3, GHN-2, hid 32, max_shape 64x64x16x16, 1000 classes\)/);
    expect(wrongConfig.body.details.missing).toContain('gnn.gru.weight_ih');
    expect(wrongConfig.body.details.unexpected).toContain('gnn.0.attn.to_qkv.weight');
    expect(wrongConfig.body.details.mismatched).toContainEqual({ name: 'decoder.conv.2.weight', shape: [1024, 256], expected: [4096, 256] });

    const fewerLayers = { ...fixtureConfigDocument('ghn3_h32_l3'), ctor_config: { ...fixtureGhnJson('ghn3_h32_l3').ctor_config, layers: 2 } };
    const unexpectedLayer = await upload(GHN3_SAFETENSORS, { config: JSON.stringify(fewerLayers) }).expect(422);
    expect(unexpectedLayer.body.details.unexpected).toContain('gnn.2.ln1.weight');

    const notAGhn = await request(t.url).post('/v1/ghns').set(auth()).attach('file', smallCheckpoint(1), 'resnet.safetensors').expect(422);
    expect(notAGhn.body.code).toBe('GHN_INVALID');
    expect(notAGhn.body.detail).toMatch(/^no usable GHN config can be inferred from the tensor names \(is this a GHN checkpoint\?/);

    const unusable = await upload(GHN3_SAFETENSORS, { config: '{"hid": 30, "num_classes": 1000, "max_shape": [32, 32, 16, 16]}' }).expect(422);
    expect(unusable.body).toMatchObject({ code: 'GHN_INVALID', detail: expect.stringMatching(/`config` field is not a usable GHN config.*divisible by 4/) });
    const notJson = await upload(GHN3_SAFETENSORS, { config: '{hid: 32' }).expect(400);
    expect(notJson.body).toMatchObject({ code: 'INVALID_FIELD', details: { field: 'config' } });
    expect(await storedState()).toEqual({ ...before, temporary: 0 });
  });

  it('refuses a name in use (409 GHN_NAME_TAKEN) and stores nothing', async () => {
    const first = await upload(GHN3_SAFETENSORS, { name: 'taken' }).expect(201);
    const before = await storedState();
    const again = await upload(GHN3_JOBLIB, { name: 'taken' }).expect(409);
    expect(again.body).toMatchObject({ code: 'GHN_NAME_TAKEN', details: { name: 'taken', ghnId: first.body.id } });
    expect(await storedState()).toEqual({ ...before, temporary: 0 });

    // Two uploads racing for one name: one wins; the loser's weights are not kept.
    const racing = await Promise.all([upload(GHN3_JOBLIB, { name: 'raced' }), upload(GHN3_JOBLIB, { name: 'raced' })]);
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(racing.find((r) => r.status === 409)?.body.code).toBe('GHN_NAME_TAKEN');
    expect(await storedState()).toMatchObject({ ghns: before.ghns + 1, checkpoints: before.checkpoints + 1, temporary: 0 });

    // The database's unique constraint is what settles such a race (on PGlite and PostgreSQL alike).
    const plain = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', smallCheckpoint(5), 'plain.safetensors').expect(201);
    const repository = t.app.get(GhnsRepository, { strict: false });
    const draft = { name: 'taken', checkpointId: plain.body.id, config: fixtureConfigDocument('ghn3_h32_l3'), source: 'upload' as const, sourceSha256: 'f'.repeat(64) };
    await expect(repository.create(draft)).rejects.toMatchObject({ code: 'GHN_NAME_TAKEN' });
  });

  it('lists with cursor pagination, gets one, and defaults to the most recent', async () => {
    const latest = await upload(GHN3_SAFETENSORS, { name: 'latest' }).expect(201);
    const all = (await request(t.url).get('/v1/ghns').query({ limit: 200 }).set(auth()).expect(200)).body.items;
    const seen: { id: string; isDefault: boolean }[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(t.url).get('/v1/ghns').query({ limit: 3, ...(cursor ? { cursor } : {}) }).set(auth()).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(all[0].id).toBe(latest.body.id);
    expect(all.filter((g: { isDefault: boolean }) => g.isDefault).map((g: { id: string }) => g.id)).toEqual([latest.body.id]);

    const byName = await request(t.url).get('/v1/ghns').query({ name: 'taken' }).set(auth()).expect(200);
    expect(byName.body.items.map((g: { name: string }) => g.name)).toEqual(['taken']);
    const one = await request(t.url).get(`/v1/ghns/${all[2].id}`).set(auth()).expect(200);
    expect(one.body).toEqual(all[2]);
    const fallback = await request(t.url).get('/v1/ghns/default').set(auth()).expect(200);
    expect(fallback.body).toEqual({ ...latest.body, isDefault: true });

    const missing = await request(t.url).get('/v1/ghns/00000000-0000-4000-8000-000000000000').set(auth()).expect(404);
    expect(missing.body.code).toBe('GHN_NOT_FOUND');
    await request(t.url).get('/v1/ghns/not-a-uuid').set(auth()).expect(400);
  });

  it('GhnsService resolves GHNs and keeps the last two loaded, disposing the one evicted', async () => {
    const service = t.app.get(GhnsService);
    const ids = (await request(t.url).get('/v1/ghns').query({ limit: 3 }).set(auth()).expect(200)).body.items.map((g: { id: string }) => g.id);
    const resolved = await service.resolve(undefined);
    expect(resolved.ghn.id).toBe(ids[0]);
    expect(resolved.checkpoint).toMatchObject({ id: resolved.ghn.checkpointId, kind: 'ghn' });

    const [a, b, c] = ids as string[];
    const tick = () => new Promise((r) => setImmediate(r));
    const ghnA = await service.loadForPrediction(a);
    expect(ghnA.config).toEqual(parseGhnConfig(fixtureGhnJson('ghn3_h32_l3')));
    expect(ghnA.numParameters).toBe(1540464);
    const ghnB = await service.loadForPrediction(b);
    expect(await service.loadForPrediction(a)).toBe(ghnA); // cached, and now the most recently used
    const ghnC = await service.loadForPrediction(c); // evicts B
    await tick();
    expect([ghnA.isDisposed, ghnB.isDisposed, ghnC.isDisposed]).toEqual([false, true, false]);
    // A GHN held by withGhn outlives its eviction until the callback settles.
    const inside = await service.withGhn(a, async (ghn) => {
      await service.loadForPrediction(b); // evicts C
      await service.loadForPrediction(c); // evicts A, which is in use
      await tick();
      return { same: ghn === ghnA, disposed: ghn.isDisposed };
    });
    expect(inside).toEqual({ same: true, disposed: false });
    await tick();
    expect([ghnA.isDisposed, ghnC.isDisposed]).toEqual([true, true]);
    await expect(service.resolve('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'GHN_NOT_FOUND' });
  });

  it('deletes a GHN and its weights, but not while an initialization uses it (409 GHN_IN_USE)', async () => {
    const ghn = (await upload(join(GHN_FORMATS_DIR, 'ghn3_h32_l3.torchsave.pt'), { name: 'to-delete' }).expect(201)).body;
    await t.app.get(GhnsService).loadForPrediction(ghn.id);
    const arch = await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet18' }).expect(201);
    const prisma = t.app.get(PrismaService).client;
    const init = await prisma.initialization.create({ data: { cacheKey: 'ghns-e2e', architectureId: arch.body.id, method: 'ghn', ghnId: ghn.id, options: {} } });

    const inUse = await request(t.url).delete(`/v1/ghns/${ghn.id}`).set(auth()).expect(409);
    expect(inUse.body).toMatchObject({ code: 'GHN_IN_USE', details: { references: { initialization: [init.id] } } });
    const weightsInUse = await request(t.url).delete(`/v1/checkpoints/${ghn.checkpointId}`).set(auth()).expect(409);
    expect(weightsInUse.body.code).toBe('CHECKPOINT_IN_USE');

    await prisma.initialization.delete({ where: { id: init.id } });
    await request(t.url).delete(`/v1/ghns/${ghn.id}`).set(auth()).expect(204);
    expect((await request(t.url).get(`/v1/ghns/${ghn.id}`).set(auth()).expect(404)).body.code).toBe('GHN_NOT_FOUND');
    await request(t.url).get(`/v1/checkpoints/${ghn.checkpointId}`).set(auth()).expect(404);
    await request(t.url).delete(`/v1/ghns/${ghn.id}`).set(auth()).expect(404);
    // Every stored blob still belongs to a checkpoint, and every checkpoint still has its blob.
    const shas = (await request(t.url).get('/v1/checkpoints').query({ limit: 200 }).set(auth()).expect(200)).body.items.map((c: { sha256: string }) => c.sha256);
    expect((await storedBlobFiles(t.dataDir)).map((p) => p.slice(-64)).sort()).toEqual([...new Set<string>(shas)].sort());
  });

  it('keeps the weights checkpoint when something else references it', async () => {
    const ghn = (await upload(GHN3_SAFETENSORS, { name: 'parent-ghn' }).expect(201)).body;
    const child = await request(t.url).post('/v1/checkpoints').set(auth()).field('parentIds', ghn.checkpointId).attach('file', smallCheckpoint(2), 'child.safetensors').expect(201);
    await request(t.url).delete(`/v1/ghns/${ghn.id}`).set(auth()).expect(204);
    await request(t.url).get(`/v1/ghns/${ghn.id}`).set(auth()).expect(404);
    expect((await checkpoint(ghn.checkpointId)).kind).toBe('ghn');
    expect((await checkpoint(child.body.id)).parentIds).toEqual([ghn.checkpointId]);
  });
});
