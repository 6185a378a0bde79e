import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { readOnnxModel } from '../../src/core/formats/onnx/onnx-codec';
import { embeddedTensorBytes, describeInitializer } from '../../src/core/formats/onnx/onnx-initializers';
import { readSafetensors } from '../../src/core/formats/safetensors';
import { readAll } from '../../src/core/formats/tensor-set';
import { assertRelativeWithin, sampleIndices } from '../../src/core/ghn/testing-ghn-fixtures';
import { bufferSource } from '../../src/core/io/random-access';
import { projectRoot } from '../../src/core/io/project-root';
import { fixturesDir } from '../../src/core/testing/fixtures';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { binaryBody } from '../utils/binary-body';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import { GHN_FIXTURES_DIR } from '../utils/ghn-fixtures';
import { waitFor } from '../utils/wait-for';

const GHN_FILE = fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors');
const GHN_CONFIG = fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.json');
const RUN = (ext: string) => fixturesDir('ghn', 'runs', 'ghn3_h32_l3', `resnet18.${ext}`);
const TINY_CNN_ONNX = fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'tiny_cnn.onnx');
const TINY_CNN_GHN_GRAPH = fixturesDir('ghn', 'graphs', 'ghn3', 'tiny_cnn.json');
const VIT_TINY_ONNX = fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'vit_tiny.onnx');
const MISSING = '00000000-0000-4000-8000-000000000000';

interface Tensor {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

async function tensorsOf(bytes: Uint8Array): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, unknown> }> {
  const set = await readSafetensors(bufferSource(bytes));
  const tensors = new Map<string, Tensor>();
  for (const t of set.tensors) tensors.set(t.name, { dtype: t.dtype, shape: [...t.shape], bytes: Buffer.from(await readAll(t)) });
  return { tensors, metadata: set.metadata };
}

const f32 = (t: Tensor | undefined): Float32Array => {
  if (!t || t.dtype !== 'F32') throw new Error(`expected an F32 tensor, got ${t?.dtype}`);
  return new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength));
};

function std(values: Float32Array): number {
  let sum = 0;
  let sumsq = 0;
  for (const v of values) {
    sum += v;
    sumsq += v * v;
  }
  const mean = sum / values.length;
  return Math.sqrt(sumsq / values.length - mean * mean);
}

/** The built CLI, as users run it (`npm run build` first, as for the worker threads). */
function weightsmith(cwd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const main = join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the e2e tests`);
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe(`initializations API (${databaseLabel()})`, () => {
  let t: TestApp;
  let ghn: { id: string; checkpointId: string; sourceSha256: string };
  let resnet18: string;
  let tinyCnn: string;
  let workDir: string;

  const post = (body: object) => request(t.url).post('/v1/initializations').set(auth()).send(body);
  const download = (checkpointId: string, query = '') =>
    request(t.url).get(`/v1/checkpoints/${checkpointId}/weights${query}`).set(auth()).buffer(true).parse(binaryBody as never);
  /** A refused download: its problem-details body. */
  const refusedDownload = async (checkpointId: string, query: string, status: number) =>
    (await request(t.url).get(`/v1/checkpoints/${checkpointId}/weights${query}`).set(auth()).expect(status)).body as { code: string };
  async function computedCount(method: string): Promise<number> {
    const text = (await request(t.url).get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(`weightsmith_initializations_computed_total{method="${method}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }
  const getJob = async (id: string) => (await request(t.url).get(`/v1/jobs/${id}`).set(auth()).expect(200)).body;
  /** Polls the job until it has ended. */
  const jobEnded = (id: string) =>
    waitFor(`job ${id} to end`, async () => {
      const job = await getJob(id);
      return job.status === 'queued' || job.status === 'running' ? undefined : job;
    }, 60_000, 50);
  const checkpointsOf = async (architectureId: string) =>
    ((await request(t.url).get('/v1/checkpoints').query({ architectureId }).set(auth()).expect(200)).body.items as { id: string }[]).map((c) => c.id);
  async function liveTensors(): Promise<number> {
    const text = (await request(t.url).get('/metrics').expect(200)).text;
    return Number((text.split('\n').find((l) => l.startsWith('weightsmith_tfjs_tensors ')) ?? 'x NaN').split(' ').pop());
  }

  beforeAll(async () => {
    t = await startTestApp();
    workDir = await mkdtemp(join(tmpdir(), 'weightsmith-init-e2e-'));
    const uploaded = await request(t.url)
      .post('/v1/ghns')
      .set(auth())
      .field('name', 'ghn3_h32_l3')
      .field('config', readFileSync(GHN_CONFIG, 'utf8'))
      .attach('file', GHN_FILE)
      .expect(201);
    ghn = uploaded.body;
    resnet18 = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet18' }).expect(201)).body.id;
    tinyCnn = (await request(t.url).post('/v1/architectures/upload').set(auth()).attach('file', TINY_CNN_ONNX).expect(201)).body.id;
  });
  afterAll(async () => {
    await t.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('predicts resnet18 with the GHN: equal to the CLI and to the official run, then served from the cache', async () => {
    const before = await computedCount('ghn');
    const first = await post({ architectureId: resnet18, method: 'ghn', ghnId: ghn.id, seed: 0 }).expect(201);
    expect(first.headers['x-weightsmith-cache']).toBe('miss');
    expect(first.headers.location).toBe(`/v1/initializations/${first.body.id}`);
    expect(first.body).toMatchObject({ status: 'succeeded', cached: false, method: 'ghn', ghnId: ghn.id, architectureId: resnet18, options: { seed: 0, batchNorm: 'fresh' }, jobId: null });
    const checkpointId: string = first.body.checkpointId;
    expect(await computedCount('ghn')).toBe(before + 1);

    const checkpoint = (await request(t.url).get(`/v1/checkpoints/${checkpointId}`).set(auth()).expect(200)).body;
    expect(checkpoint).toMatchObject({ kind: 'initialization', architectureId: resnet18, parentIds: [ghn.checkpointId] });
    expect(checkpoint.metadata).toMatchObject({ method: 'ghn', seed: 0, ghnId: ghn.id, ghnName: 'ghn3_h32_l3', batchNorm: 'fresh', notPredicted: [], predictedOnly: false });

    const served = await download(checkpointId).expect(200);
    const { tensors, metadata } = await tensorsOf(served.body);
    expect(metadata).toMatchObject({ method: 'ghn', seed: '0', batch_norm: 'fresh', ghn_sha256: ghn.sourceSha256, predicted_only: 'false' });

    // The CLI on the same GHN file, architecture, seed and backend (the test server runs on cpu) writes the same bytes.
    const run = await weightsmith(workDir, ['predict', '--ghn', GHN_FILE, '--config', GHN_CONFIG, '--arch', 'zoo:resnet18', '--out', 'cli.safetensors', '--seed', '0', '--backend', 'cpu']);
    expect(run).toMatchObject({ status: 0 });
    const cliBytes = await readFile(join(workDir, 'cli.safetensors'));
    expect(JSON.parse(run.stdout)).toMatchObject({ tensors: tensors.size, backend: 'cpu', notPredicted: [] });
    expect(Buffer.compare(cliBytes, served.body)).toBe(0);

    // The official code's predictions: 64 sampled values per tensor, relative 1e-5.
    const official = await tensorsOf(readFileSync(RUN('safetensors')));
    const stats = JSON.parse(readFileSync(RUN('json'), 'utf8')) as { predicted: string[] };
    expect(stats.predicted.length).toBeGreaterThan(50);
    for (const name of stats.predicted) {
      const got = f32(tensors.get(name));
      const want = f32(official.tensors.get(`samples/${name}`));
      const picked = sampleIndices(got.length).map((i) => got[i]);
      assertRelativeWithin(name, picked, want, 1e-5);
    }
    // BatchNorm statistics are not predicted: those of a freshly constructed torch model.
    expect(f32(tensors.get('layer1.0.bn1.running_mean')).every((v) => v === 0)).toBe(true);
    expect(f32(tensors.get('layer1.0.bn1.running_var')).every((v) => v === 1)).toBe(true);
    const count = tensors.get('layer1.0.bn1.num_batches_tracked') as Tensor;
    expect(count).toMatchObject({ dtype: 'I64', shape: [] });
    expect(count.bytes.readBigInt64LE(0)).toBe(0n);

    // The same request again: the stored checkpoint, nothing computed.
    const again = await post({ architectureId: resnet18, method: 'ghn', ghnId: ghn.id }).expect(200);
    expect(again.headers['x-weightsmith-cache']).toBe('hit');
    expect(again.body).toMatchObject({ id: first.body.id, checkpointId, cached: true, status: 'succeeded' });
    expect(await computedCount('ghn')).toBe(before + 1);
    // Naming no GHN means the default one (the only one here): the same request, the same answer.
    expect((await post({ architectureId: resnet18, method: 'ghn' }).expect(200)).body.checkpointId).toBe(checkpointId);
    expect((await request(t.url).get(`/v1/initializations/${first.body.id}`).set(auth()).expect(200)).body).toMatchObject({ checkpointId, status: 'succeeded' });
  });

  it('predict fails with one line on stderr and leaves no output file', async () => {
    const run = await weightsmith(workDir, ['predict', '--ghn', GHN_FILE, '--arch', 'zoo:no_such_model', '--out', 'none.safetensors']);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n').filter((l) => l.startsWith('weightsmith:'))).toEqual([expect.stringContaining('ZOO_UNKNOWN_MODEL')]);
    expect(existsSync(join(workDir, 'none.safetensors'))).toBe(false);
  });

  it('downloads the initialization as ONNX with its weights embedded', async () => {
    const init = await post({ architectureId: tinyCnn, method: 'torch-default', seed: 3 }).expect(201);
    const safetensors = await tensorsOf((await download(init.body.checkpointId).expect(200)).body);
    const onnx = await download(init.body.checkpointId, '?format=onnx').expect(200);
    expect(onnx.headers['content-disposition']).toMatch(/\.onnx"$/);
    const model = readOnnxModel(onnx.body);
    const initializers = model.graph?.initializer ?? [];
    expect(initializers.length).toBeGreaterThan(10);
    for (const proto of initializers) {
      const info = describeInitializer(proto);
      const expected = safetensors.tensors.get(info.name);
      expect([info.name, expected !== undefined]).toEqual([info.name, true]);
      expect(Buffer.from(embeddedTensorBytes(proto, info)).equals((expected as Tensor).bytes)).toBe(true);
    }
    // Without an architecture there is no graph to export; an unknown format is refused.
    expect((await refusedDownload(ghn.checkpointId, '?format=onnx', 409)).code).toBe('CHECKPOINT_NOT_EXPORTABLE');
    expect((await refusedDownload(init.body.checkpointId, '?format=pickle', 400)).code).toBe('VALIDATION_FAILED');
  });

  it.each(['torch-default', 'kaiming', 'orthogonal'])('%s gives finite tensors with the expected spread and fresh BatchNorm', async (method) => {
    const arch = method === 'orthogonal' ? tinyCnn : resnet18;
    const before = await computedCount(method);
    const res = await post({ architectureId: arch, method, seed: 5 }).expect(201);
    expect(await computedCount(method)).toBe(before + 1);
    const checkpoint = (await request(t.url).get(`/v1/checkpoints/${res.body.checkpointId}`).set(auth()).expect(200)).body;
    expect(checkpoint).toMatchObject({ kind: 'initialization', architectureId: arch, parentIds: [] });
    const { tensors } = await tensorsOf((await download(res.body.checkpointId).expect(200)).body);
    for (const [name, tensor] of tensors) if (tensor.dtype === 'F32') expect([name, f32(tensor).every(Number.isFinite)]).toEqual([name, true]);
    if (method === 'torch-default') {
      expect(Math.abs(std(f32(tensors.get('layer2.0.conv1.weight'))) * Math.sqrt(3 * 64 * 9) - 1)).toBeLessThan(0.1);
      expect(Math.abs(std(f32(tensors.get('fc.weight'))) * Math.sqrt(3 * 512) - 1)).toBeLessThan(0.1);
    } else if (method === 'kaiming') {
      expect(Math.abs(std(f32(tensors.get('layer2.0.conv1.weight'))) / Math.sqrt(2 / (128 * 9)) - 1)).toBeLessThan(0.1);
      expect(Math.abs(std(f32(tensors.get('fc.weight'))) / 0.01 - 1)).toBeLessThan(0.1);
      expect(f32(tensors.get('fc.bias')).every((v) => v === 0)).toBe(true);
    } else {
      // conv1 [16, 3, 3, 3]: 16 orthonormal rows of 27, so each row has norm 1 and the std is √(1/27).
      const conv = f32(tensors.get('conv1.weight'));
      expect(Math.abs(std(conv) * Math.sqrt(27) - 1)).toBeLessThan(0.1);
      expect(f32(tensors.get('conv1.bias')).every((v) => v === 0)).toBe(true);
    }
    const bn = method === 'orthogonal' ? 'bn1' : 'layer1.0.bn1';
    expect(f32(tensors.get(`${bn}.weight`)).every((v) => v === 1)).toBe(true);
    expect(f32(tensors.get(`${bn}.bias`)).every((v) => v === 0)).toBe(true);
    expect(f32(tensors.get(`${bn}.running_mean`)).every((v) => v === 0)).toBe(true);
    expect(f32(tensors.get(`${bn}.running_var`)).every((v) => v === 1)).toBe(true);
  });

  it('computes concurrent identical requests once', async () => {
    const before = await computedCount('torch-default');
    const body = { architectureId: tinyCnn, method: 'torch-default', seed: 42 };
    const [a, b] = await Promise.all([post(body), post(body)]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect(a.body.checkpointId).toBe(b.body.checkpointId);
    expect(await computedCount('torch-default')).toBe(before + 1);
  });

  it('predicts the parameters alone for an architecture known only by its GHN graph', async () => {
    const arch = await request(t.url)
      .post('/v1/architectures')
      .set(auth())
      .send({ ghnGraph: JSON.parse(readFileSync(TINY_CNN_GHN_GRAPH, 'utf8')) })
      .expect(201);
    const res = await post({ architectureId: arch.body.id, method: 'ghn' }).expect(201);
    const checkpoint = (await request(t.url).get(`/v1/checkpoints/${res.body.checkpointId}`).set(auth()).expect(200)).body;
    expect(checkpoint.metadata).toMatchObject({ predictedOnly: true, note: expect.stringContaining('predicted parameters only') });
    const names = checkpoint.tensors.map((m: { name: string }) => m.name);
    expect(names).toContain('conv1.weight');
    expect(names).toContain('bn1.weight');
    expect(names).not.toContain('bn1.running_mean');
    expect((await post({ architectureId: arch.body.id, method: 'kaiming' }).expect(409)).body.code).toBe('ARCHITECTURE_NOT_EXECUTABLE');
    expect((await refusedDownload(res.body.checkpointId, '?format=onnx', 409)).code).toBe('ARCHITECTURE_NOT_EXECUTABLE');
  });

  it('runs as a job when asked (Prefer: respond-async); an identical request meanwhile joins it', async () => {
    const body = { architectureId: tinyCnn, method: 'kaiming', seed: 77 };
    const first = await post(body).set('Prefer', 'respond-async').expect(202);
    expect(first.body).toMatchObject({ cached: false, checkpointId: null, jobId: expect.any(String) });
    expect(first.headers.location).toBe(`/v1/jobs/${first.body.jobId}`);
    const joined = await post(body).expect((r) => expect([200, 202]).toContain(r.status));
    expect(joined.body.id).toBe(first.body.id);
    let job = first.body;
    for (let i = 0; i < 200 && job.status !== 'succeeded' && job.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await request(t.url).get(`/v1/jobs/${first.body.jobId}`).set(auth()).expect(200)).body;
    }
    expect(job).toMatchObject({ status: 'succeeded', result: { initializationId: first.body.id, checkpointId: expect.any(String) } });
    const done = (await request(t.url).get(`/v1/initializations/${first.body.id}`).set(auth()).expect(200)).body;
    expect(done).toMatchObject({ status: 'succeeded', checkpointId: job.result.checkpointId, jobId: first.body.jobId });
    expect((await post(body).expect(200)).body).toMatchObject({ cached: true, checkpointId: job.result.checkpointId });
  });

  it('lists initializations newest first with cursor pagination', async () => {
    const page1 = (await request(t.url).get('/v1/initializations').query({ limit: 2 }).set(auth()).expect(200)).body;
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await request(t.url).get('/v1/initializations').query({ limit: 2, cursor: page1.nextCursor }).set(auth()).expect(200)).body;
    const ids = [...page1.items, ...page2.items].map((i: { id: string }) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    const byArch = (await request(t.url).get('/v1/initializations').query({ architectureId: resnet18, method: 'ghn' }).set(auth()).expect(200)).body;
    expect(byArch.items).toHaveLength(1);
  });

  it('answers 404 for an unknown architecture, GHN or initialization, and 400 for a bad request', async () => {
    expect((await post({ architectureId: MISSING, method: 'kaiming' }).expect(404)).body.code).toBe('ARCHITECTURE_NOT_FOUND');
    expect((await post({ architectureId: resnet18, method: 'ghn', ghnId: MISSING }).expect(404)).body.code).toBe('GHN_NOT_FOUND');
    expect((await request(t.url).get(`/v1/initializations/${MISSING}`).set(auth()).expect(404)).body.code).toBe('INITIALIZATION_NOT_FOUND');
    expect((await post({ architectureId: resnet18, method: 'xavier' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post({ architectureId: resnet18, method: 'kaiming', batchNorm: 'recalibrate' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post({ architectureId: resnet18, method: 'kaiming', seed: -1 }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post({ architectureId: resnet18, method: 'kaiming', ghnId: ghn.id }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post({ architectureId: 'resnet18', method: 'kaiming' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
  });

  it('leaves no tf tensor behind over 20 GHN predictions', async () => {
    await post({ architectureId: tinyCnn, method: 'ghn', seed: 1000 }).expect(201); // loads the GHN (kept cached)
    const before = await liveTensors();
    expect(Number.isFinite(before)).toBe(true);
    for (let seed = 1001; seed <= 1020; seed++) await post({ architectureId: tinyCnn, method: 'ghn', seed }).expect(201);
    expect(await liveTensors()).toBe(before);
  });

  it('stops a cancelled initialization job: the job and the initialization end cancelled and nothing is stored', async () => {
    const mobilenet = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'mobilenet_v3_small' }).expect(201)).body.id;
    const body = { architectureId: mobilenet, method: 'orthogonal', seed: 5 };
    const blobsBefore = await storedBlobFiles(t.dataDir);
    const stagedBefore = await temporaryBlobFiles(t.dataDir);
    const queued = (await post(body).set('Prefer', 'respond-async').expect(202)).body;
    await waitFor('the job to run', async () => ((await getJob(queued.jobId)).status === 'running' ? true : undefined), 30_000, 20);
    await request(t.url).delete(`/v1/jobs/${queued.jobId}`).set(auth()).expect(202);
    expect(await jobEnded(queued.jobId)).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' }, result: null });
    expect((await request(t.url).get(`/v1/initializations/${queued.id}`).set(auth()).expect(200)).body).toMatchObject({ status: 'cancelled', checkpointId: null });
    expect(await checkpointsOf(mobilenet)).toEqual([]);
    expect(await storedBlobFiles(t.dataDir)).toEqual(blobsBefore);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual(stagedBefore);
    // The same work once more, now during the request (its estimate is a few seconds): by its end the
    // cancelled computation would have ended too, and still only this one's checkpoint exists.
    const again = (await post(body).expect(201)).body;
    expect(again).toMatchObject({ status: 'succeeded', cached: false });
    expect(again.id).not.toBe(queued.id);
    expect(await checkpointsOf(mobilenet)).toEqual([again.checkpointId]);
    expect((await storedBlobFiles(t.dataDir)).length).toBe(blobsBefore.length + 1);
    expect(await temporaryBlobFiles(t.dataDir)).toEqual(stagedBefore);
  });

  it('hands work estimated over ~10 s to a job at once (orthogonal resnet18), which a cancel stops', async () => {
    const started = Date.now();
    const res = await post({ architectureId: resnet18, method: 'orthogonal', seed: 3 }).expect(202);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.body).toMatchObject({ cached: false, checkpointId: null, jobId: expect.any(String) });
    expect(res.headers.location).toBe(`/v1/jobs/${res.body.jobId}`);
    await request(t.url).delete(`/v1/jobs/${res.body.jobId}`).set(auth()).expect(202);
    expect(await jobEnded(res.body.jobId)).toMatchObject({ status: 'cancelled' });
    expect((await request(t.url).get(`/v1/initializations/${res.body.id}`).set(auth()).expect(200)).body).toMatchObject({ status: 'cancelled', checkpointId: null });
  });

  // Last: the ppuda GHN uploaded here becomes the default GHN.
  it('refuses at once a GHN whose graph builder cannot represent the architecture (ppuda and a ViT), as ghn-graph does', async () => {
    const vit = (await request(t.url).post('/v1/architectures').set(auth()).attach('file', VIT_TINY_ONNX).expect(201)).body.id;
    const ppuda = (await request(t.url).post('/v1/ghns').set(auth()).field('name', 'ppuda_ghn2_h32').field('config', readFileSync(join(GHN_FIXTURES_DIR, 'ppuda_ghn2_h32.json'), 'utf8')).attach('file', join(GHN_FIXTURES_DIR, 'ppuda_ghn2_h32.safetensors')).expect(201)).body;
    expect(ppuda.config.graph_builder).toBe('ppuda');
    const graphCode = (await request(t.url).get(`/v1/architectures/${vit}/ghn-graph`).query({ builder: 'ppuda' }).set(auth()).expect(422)).body.code;
    expect(graphCode).toBe('GHN_GRAPH_UNSUPPORTED');
    const jobsBefore = (await request(t.url).get('/v1/jobs').query({ limit: 100 }).set(auth()).expect(200)).body.items.length;
    for (const prefer of [undefined, 'respond-async']) {
      const req = post({ architectureId: vit, method: 'ghn', ghnId: ppuda.id });
      const refused = await (prefer ? req.set('Prefer', prefer) : req).expect(422);
      expect(refused.body.code).toBe(graphCode);
    }
    expect((await request(t.url).get('/v1/initializations').query({ architectureId: vit }).set(auth()).expect(200)).body.items).toEqual([]);
    expect((await request(t.url).get('/v1/jobs').query({ limit: 100 }).set(auth()).expect(200)).body.items.length).toBe(jobsBefore);
    // The ghn3 GHN predicts the same ViT.
    await post({ architectureId: vit, method: 'ghn', ghnId: ghn.id }).expect(201);
  });
});
