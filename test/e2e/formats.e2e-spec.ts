import childProcess from 'node:child_process';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { readSafetensors } from '../../src/core/formats/safetensors';
import { readAll } from '../../src/core/formats/tensor-set';
import { bufferSource } from '../../src/core/io/random-access';
import { fixturesDir } from '../../src/core/testing/fixtures';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { binaryBody } from '../utils/binary-body';

const REFERENCE = fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors');

async function tensorsOf(bytes: Uint8Array): Promise<Map<string, { dtype: string; shape: readonly number[]; data: Buffer }>> {
  const set = await readSafetensors(bufferSource(bytes));
  const out = new Map<string, { dtype: string; shape: readonly number[]; data: Buffer }>();
  for (const t of set.tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, data: Buffer.from(await readAll(t)) });
  return out;
}

describe(`PyTorch and ONNX uploads (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['ghn3_h32_l3.joblib.pt', 'joblib'],
    ['ghn3_h32_l3.torchsave.pt', 'torch-zip'],
    ['ghn3_h32_l3.state_dict.pt', 'torch-zip'],
  ])('converts %s to safetensors bit for bit', async (file, format) => {
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', fixturesDir('checkpoint-formats', file)).expect(201);
    expect(res.body.originalFormat).toBe(format);
    expect(res.body.format).toBe('safetensors');
    const weights = await request(t.url).get(`/v1/checkpoints/${res.body.id}/weights`).set(auth()).buffer(true).parse(binaryBody as never).expect(200);
    const got = await tensorsOf(weights.body as Buffer);
    const want = await tensorsOf(readFileSync(REFERENCE));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, w] of want) {
      const g = got.get(name)!;
      expect({ name, dtype: g.dtype, shape: g.shape }).toEqual({ name, dtype: w.dtype, shape: w.shape });
      expect(g.data.equals(w.data)).toBe(true);
    }
    if (file.includes('torchsave')) {
      expect(res.body.metadata.config).toEqual(expect.objectContaining({ hid: 32, layers: 3 }));
      expect(typeof res.body.metadata.epoch).toBe('number');
    }
  });

  it('refuses a pickle that would run code, spawns nothing and stores nothing', async () => {
    const spies = (['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((fn) => jest.spyOn(childProcess, fn));
    try {
      const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', fixturesDir('checkpoint-formats', 'malicious.pkl.pt')).expect(422);
      expect(res.body.code).toBe('PICKLE_FORBIDDEN_GLOBAL');
      expect(res.body.detail).toContain('posix.system');
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const list = await request(t.url).get('/v1/checkpoints').query({ name: 'malicious.pkl' }).set(auth()).expect(200);
    expect(list.body.items).toEqual([]);
    const stored = await storedBlobFiles(t.dataDir);
    const ids = (await request(t.url).get('/v1/checkpoints').set(auth()).expect(200)).body.items.map((c: { sha256: string }) => c.sha256);
    expect(stored.filter((p) => !ids.some((sha: string) => p.endsWith(sha)))).toEqual([]);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  });

  it('converts an ONNX model with embedded initializers', async () => {
    const onnx = fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'tiny_mlp.onnx');
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', onnx).expect(201);
    expect(res.body.originalFormat).toBe('onnx');
    expect(res.body.tensorCount).toBeGreaterThan(0);
    const predicted = await tensorsOf(readFileSync(fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'tiny_mlp.safetensors')));
    const weights = await request(t.url).get(`/v1/checkpoints/${res.body.id}/weights`).set(auth()).buffer(true).parse(binaryBody as never).expect(200);
    const got = await tensorsOf(weights.body as Buffer);
    let compared = 0;
    for (const [name, tensor] of got) {
      const ref = predicted.get(name) ?? predicted.get(`params/${name}`);
      if (!ref) continue;
      expect(tensor.data.equals(ref.data)).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('refuses an ONNX model whose initializers live in external files', async () => {
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', fixturesDir('runtime', 'resnet18.onnx')).expect(422);
    expect(res.body.code).toBe('ONNX_EXTERNAL_DATA_MISSING');
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  });

  it('refuses a corrupt .pt file with a typed error', async () => {
    const bytes = readFileSync(fixturesDir('checkpoint-formats', 'ghn3_h32_l3.torchsave.pt'));
    const res = await request(t.url).post('/v1/checkpoints').set(auth()).attach('file', bytes.subarray(0, 3000), 'broken.pt').expect(422);
    expect(res.body.code).toMatch(/^(TORCH_FORMAT_INVALID|PICKLE_INVALID)$/);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  });
});
