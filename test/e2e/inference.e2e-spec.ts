import request from 'supertest';
import { readSafetensors } from '../../src/core/formats/safetensors';
import { readAll } from '../../src/core/formats/tensor-set';
import { withFileSource } from '../../src/core/io/random-access';
import { fixturesDir } from '../../src/core/testing/fixtures';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { binaryBody } from '../utils/binary-body';

const RUNTIME = fixturesDir('runtime');
const MiB = 1024 * 1024;
const INPUT_SHAPE = [3, 224, 224];
const ROW = 3 * 224 * 224;
const HEADER = 'inference-header-content-length';
// wasm for the tfjs engine (the e2e default, cpu, is slow under Jest); infer bodies up to 8 MiB.
const APP_ENV = { WEIGHTSMITH_BACKEND: 'wasm', WEIGHTSMITH_MAX_INFER_BYTES: '8MiB' };

interface OipOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
}

async function fixtureTensor(file: string, name: string): Promise<Float32Array> {
  return withFileSource(`${RUNTIME}/${file}`, async (source) => {
    const t = (await readSafetensors(source)).tensors.find((x) => x.name === name)!;
    const bytes = await readAll(t);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A binary-extension request: JSON header, then the FP32 input bytes. */
function binaryRequest(rows: Float32Array, batch: number, extra: Record<string, unknown> = {}): { body: Buffer; headerLength: number } {
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'input', shape: [batch, ...INPUT_SHAPE], datatype: 'FP32', parameters: { binary_data_size: rows.byteLength } }], ...extra }),
  );
  return { body: Buffer.concat([header, Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength)]), headerLength: header.length };
}

describe(`inference: deployments and the Open Inference Protocol (${databaseLabel()})`, () => {
  let t: TestApp;
  let input: Float32Array;
  let logits: Float32Array;
  let architectureId: string;
  let checkpointId: string;

  const v1 = (method: 'get' | 'post' | 'delete', path: string) => request(t.url)[method](`/v1${path}`).set(auth());
  const deploy = (body: Record<string, unknown>) => v1('post', '/deployments').send({ checkpointId, ...body });
  const inferJson = (model: string, body: unknown) => request(t.url).post(`/v2/models/${model}/infer`).set(auth()).send(body as object);
  const inferBinary = (model: string, req: { body: Buffer; headerLength: number }) =>
    request(t.url)
      .post(`/v2/models/${model}/infer`)
      .set(auth())
      .set('Content-Type', 'application/octet-stream')
      .set('Inference-Header-Content-Length', String(req.headerLength))
      .send(req.body)
      .buffer(true)
      .parse(binaryBody as never);

  /** logits of one binary request (binary output), as numbers. */
  async function binaryLogits(model: string, rows: Float32Array, batch: number): Promise<Float32Array> {
    const res = await inferBinary(model, binaryRequest(rows, batch, { parameters: { binary_data_output: true } })).expect(200);
    const body = res.body as Buffer;
    const headerLength = Number(res.headers[HEADER]);
    const header = JSON.parse(body.subarray(0, headerLength).toString()) as { outputs: OipOutput[] };
    expect(header.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [batch, 1000], parameters: { binary_data_size: batch * 4000 } }]);
    const tail = body.subarray(headerLength);
    return new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.byteLength));
  }

  beforeAll(async () => {
    t = await startTestApp({ env: APP_ENV });
    input = await fixtureTensor('squeezenet1_0.io.safetensors', 'input');
    logits = await fixtureTensor('squeezenet1_0.io.safetensors', 'logits');
    const arch = await v1('post', '/architectures/upload').attach('file', `${RUNTIME}/squeezenet1_0.onnx`).expect(201);
    architectureId = arch.body.id;
    const ckpt = await v1('post', '/checkpoints').field('architectureId', architectureId).attach('file', `${RUNTIME}/squeezenet1_0.weights.safetensors`).expect(201);
    checkpointId = ckpt.body.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('deploys with each engine and lists the deployments; refuses bad deployments with 400/404/409/422', async () => {
    const ort = await deploy({ name: 'squeezenet-ort', engine: 'onnxruntime' }).expect(201);
    expect(ort.body).toMatchObject({
      name: 'squeezenet-ort', version: '1', state: 'ready', checkpointId, architectureId, engine: 'onnxruntime', engineName: 'onnxruntime-cpu', backend: 'cpu',
      maxBatchSize: 8, maxQueueDelayMs: 2, maxQueueSize: 64, dynamicBatching: true, batchable: true, queueDepth: 0, inferPath: '/v2/models/squeezenet-ort/infer',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
    });
    const tfjs = await deploy({ name: 'squeezenet-tfjs', engine: 'tfjs', backend: 'wasm', architectureId }).expect(201);
    expect(tfjs.body).toMatchObject({ engine: 'tfjs', engineName: 'tfjs-wasm', backend: 'wasm' });
    // auto = onnxruntime on a CPU backend
    expect((await deploy({ name: 'squeezenet.auto', maxBatchSize: 4 }).expect(201)).body).toMatchObject({ engine: 'onnxruntime', maxBatchSize: 4 });

    const list = await v1('get', '/deployments').expect(200);
    expect(list.body.items.map((d: { name: string }) => d.name)).toEqual(['squeezenet-ort', 'squeezenet-tfjs', 'squeezenet.auto']);
    expect((await v1('get', '/deployments/squeezenet-tfjs').expect(200)).body.name).toBe('squeezenet-tfjs');

    expect((await deploy({ name: 'squeezenet-ort' }).expect(409)).body.code).toBe('DEPLOYMENT_NAME_TAKEN');
    expect((await deploy({ name: 'x', checkpointId: '00000000-0000-4000-8000-000000000000' }).expect(404)).body.code).toBe('CHECKPOINT_NOT_FOUND');
    expect((await deploy({ name: 'x', architectureId: '00000000-0000-4000-8000-000000000000' }).expect(404)).body.code).toBe('ARCHITECTURE_NOT_FOUND');
    expect((await deploy({ name: 'bad name!' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await deploy({ name: 'x', engine: 'torch' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await deploy({ name: 'x', engine: 'tfjs', backend: 'cpu' }).expect(422)).body.code).toBe('DEPLOYMENT_INVALID');
    // squeezenet weights on the resnet18 graph: the first mismatches are listed
    const resnet = await v1('post', '/architectures/upload').attach('file', `${RUNTIME}/resnet18.onnx`).expect(201);
    const mismatch = await deploy({ name: 'x', architectureId: resnet.body.id }).expect(422);
    expect(mismatch.body).toMatchObject({ code: 'DEPLOYMENT_INVALID', details: { total: expect.any(Number) } });
    expect(mismatch.body.details.mismatches.length).toBeGreaterThan(0);
    expect(mismatch.body.details.mismatches.length).toBeLessThanOrEqual(10);
    expect(mismatch.body.detail).toMatch(/weights have no tensor 'conv1.weight'|expects/);
    expect((await v1('get', '/deployments/x').expect(404)).body.code).toBe('DEPLOYMENT_NOT_FOUND');
  });

  it('answers server and model metadata, health and readiness', async () => {
    expect((await request(t.url).get('/v2').set(auth()).expect(200)).body).toEqual({ name: 'weightsmith', version: expect.any(String), extensions: ['binary_tensor_data'] });
    expect((await request(t.url).get('/v2/health/live').expect(200)).body).toEqual({ live: true });
    expect((await request(t.url).get('/v2/health/ready').expect(200)).body).toEqual({ ready: true });
    const expected = {
      name: 'squeezenet-ort', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
    };
    expect((await request(t.url).get('/v2/models/squeezenet-ort').set(auth()).expect(200)).body).toEqual(expected);
    expect((await request(t.url).get('/v2/models/squeezenet-ort/versions/1').set(auth()).expect(200)).body).toEqual(expected);
    expect((await request(t.url).get('/v2/models/squeezenet-tfjs').set(auth()).expect(200)).body.platform).toBe('weightsmith_tfjs');
    expect((await request(t.url).get('/v2/models/squeezenet-ort/ready').set(auth()).expect(200)).body).toEqual({ name: 'squeezenet-ort', ready: true });
    expect((await request(t.url).get('/v2/models/squeezenet.auto/versions/1/ready').set(auth()).expect(200)).body).toEqual({ name: 'squeezenet.auto', ready: true });
    for (const path of ['/v2/models/nope', '/v2/models/nope/ready', '/v2/models/squeezenet-ort/versions/2', '/v2/models/squeezenet-ort/versions/2/ready']) {
      const res = await request(t.url).get(path).set(auth()).expect(404);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
    // paths the protocol does not define: 404 with its body, not /v1's problem+json
    for (const [method, path] of [['get', '/v2/nope'], ['post', '/v2/models/squeezenet-ort/explain'], ['get', '/v2/health/started']] as const) {
      const res = await request(t.url)[method](path).set(auth()).expect(404);
      expect(res.body).toEqual({ error: expect.stringMatching(/no route/) });
    }
    // the protocol's error body for auth failures too
    expect((await request(t.url).get('/v2/models/squeezenet-ort').expect(401)).body).toEqual({ error: expect.stringMatching(/API key/) });
  });

  it.each(['squeezenet-ort', 'squeezenet-tfjs'])('%s: JSON infer gives the PyTorch logits within 1e-3 (6 MB of JSON, past the 1 MiB /v1 limit)', async (model) => {
    const body = { id: 'req-7', inputs: [{ name: 'input', shape: [2, ...INPUT_SHAPE], datatype: 'FP32', data: Array.from(input) }] };
    const res = await inferJson(model, body).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ model_name: model, model_version: '1', id: 'req-7', outputs: [{ name: 'logits', datatype: 'FP32', shape: [2, 1000] }] });
    expect(maxAbsDiff(res.body.outputs[0].data, logits)).toBeLessThan(1e-3);
  });

  it.each(['squeezenet-ort', 'squeezenet-tfjs'])('%s: the binary tensor extension round-trips to the same logits', async (model) => {
    expect(maxAbsDiff(await binaryLogits(model, input, 2), logits)).toBeLessThan(1e-3);
    // binary input, JSON output
    const res = await inferBinary(model, binaryRequest(input.subarray(0, ROW), 1, { outputs: [{ name: 'logits' }] })).expect(200);
    const json = JSON.parse((res.body as Buffer).toString()) as { outputs: OipOutput[] };
    expect(res.headers[HEADER]).toBeUndefined();
    expect(maxAbsDiff(json.outputs[0].data!, logits.subarray(0, 1000))).toBeLessThan(1e-3);
  });

  it('refuses unknown models (404), wrong shapes, datatypes and data lengths (400), oversized bodies (413), with { error }', async () => {
    const one = Array.from(input.subarray(0, ROW));
    const cases: [string, string, unknown, number, RegExp][] = [
      ['unknown model', 'nope', { inputs: [{ name: 'input', shape: [1, ...INPUT_SHAPE], datatype: 'FP32', data: one }] }, 404, /not deployed/],
      ['wrong shape', 'squeezenet-ort', { inputs: [{ name: 'input', shape: [1, 3, 112, 448], datatype: 'FP32', data: one }] }, 400, /shape \[1, 3, 112, 448\], the model expects \[-1, 3, 224, 224\]/],
      ['wrong datatype', 'squeezenet-ort', { inputs: [{ name: 'input', shape: [1, ...INPUT_SHAPE], datatype: 'FP64', data: one }] }, 400, /datatype FP64, the model expects FP32/],
      ['wrong data length', 'squeezenet-tfjs', { inputs: [{ name: 'input', shape: [1, ...INPUT_SHAPE], datatype: 'FP32', data: one.slice(1) }] }, 400, /needs 150528/],
      ['unknown input', 'squeezenet-ort', { inputs: [{ name: 'image', shape: [1], datatype: 'FP32', data: [1] }] }, 400, /unknown input 'image'/],
      ['batch over maxBatchSize', 'squeezenet.auto', { inputs: [{ name: 'input', shape: [5, 1, 1, 1], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }, 400, /shape \[5, 1, 1, 1\]/],
    ];
    for (const [label, model, body, status, message] of cases) {
      const res = await inferJson(model, body);
      expect({ label, status: res.status, body: res.body }).toEqual({ label, status, body: { error: expect.stringMatching(message) } });
    }
    // A shape no request could carry is refused before anything is allocated for it (was a 500).
    const huge = [1e12, ...INPUT_SHAPE];
    const hugeJson = await inferJson('squeezenet-ort', { inputs: [{ name: 'input', shape: huge, datatype: 'FP32', data: [1] }] }).expect(400);
    expect(hugeJson.body).toEqual({ error: expect.stringMatching(/shape \[1000000000000, 3, 224, 224\] has more than 2147483647 elements/) });
    const hugeHeader = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: huge, datatype: 'FP32', parameters: { binary_data_size: 4 } }] }));
    const hugeBinary = await inferBinary('squeezenet-ort', { body: Buffer.concat([hugeHeader, Buffer.alloc(4)]), headerLength: hugeHeader.length }).expect(400);
    expect(JSON.parse((hugeBinary.body as Buffer).toString())).toEqual({ error: expect.stringMatching(/has more than 2147483647 elements/) });
    const wide = await inferJson('squeezenet-ort', { inputs: [{ name: 'input', shape: [8, 3, 4096, 4096], datatype: 'FP32', data: [1] }] }).expect(400);
    expect(wide.body).toEqual({ error: expect.stringMatching(/has 402653184 elements, more than the \d+-byte request can carry/) });
    const tooBig = await inferBinary('squeezenet-ort', binaryRequest(new Float32Array(9 * MiB / 4), 1)).expect(413);
    expect(JSON.parse((tooBig.body as Buffer).toString())).toEqual({ error: expect.stringMatching(/exceeds the infer route's limit/) });
    // The /v1 JSON limit (1 MiB) still holds elsewhere.
    await v1('post', '/deployments').send({ name: 'y', checkpointId, pad: 'x'.repeat(2 * MiB) }).expect(413);
  });

  it('batches 16 concurrent distinct requests without mixing answers, and reports batches > 1 in /metrics', async () => {
    await deploy({ name: 'batched', engine: 'onnxruntime', maxBatchSize: 8, maxQueueDelayMs: 5 }).expect(201);
    // The two fixture images and scaled copies: 16 distinct inputs.
    const rows = Array.from({ length: 16 }, (_, i) => {
      const base = input.subarray((i % 2) * ROW, (i % 2 + 1) * ROW);
      const scale = 0.5 + 0.125 * Math.floor(i / 2);
      return Float32Array.from(base, (v) => v * scale);
    });
    const alone: Float32Array[] = [];
    for (const row of rows) alone.push(await binaryLogits('batched', row, 1));
    const metricsBefore = (await request(t.url).get('/metrics').expect(200)).text;
    const together = await Promise.all(rows.map((row) => binaryLogits('batched', row, 1)));
    together.forEach((answer, i) => expect(maxAbsDiff(answer, alone[i])).toBeLessThan(1e-4));
    // The answers differ from each other, so a mix-up would have been caught.
    expect(maxAbsDiff(alone[0], alone[2])).toBeGreaterThan(1e-2);

    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    const value = (text: string, pattern: RegExp): number => Number(text.split('\n').find((l) => pattern.test(l))?.split(' ').pop() ?? 0);
    const count = (text: string) => value(text, /^weightsmith_inference_batch_size_count\{model="batched"\}/);
    const singles = (text: string) => value(text, /^weightsmith_inference_batch_size_bucket\{.*le="1".*model="batched"|^weightsmith_inference_batch_size_bucket\{model="batched".*le="1"/);
    const runs = count(metrics) - count(metricsBefore);
    const multiRowRuns = runs - (singles(metrics) - singles(metricsBefore));
    expect(runs).toBeLessThan(16);
    expect(multiRowRuns).toBeGreaterThan(0);
    expect(value(metrics, /^weightsmith_inference_requests_total\{model="batched",status="200"\}/)).toBe(32);
    expect(metrics).toMatch(/^weightsmith_inference_requests_total\{model="\(unknown\)",status="404"\} \d+/m);
    expect(metrics).toMatch(/^weightsmith_inference_queue_depth\{model="batched"\} 0$/m);
    expect(metrics).toMatch(/^weightsmith_inference_request_duration_seconds_count\{model="batched"\} 32$/m);
  });

  it('answers 503 with { error } when the queue is full', async () => {
    // One request may wait, for up to a second: a second one within that second is refused.
    await deploy({ name: 'tiny-queue', engine: 'onnxruntime', maxQueueSize: 1, maxQueueDelayMs: 1000 }).expect(201);
    const req = binaryRequest(input.subarray(0, ROW), 1);
    const waiting = inferBinary('tiny-queue', req).then((r) => r);
    await new Promise((r) => setTimeout(r, 200));
    const refused = await inferBinary('tiny-queue', req).expect(503);
    expect(JSON.parse((refused.body as Buffer).toString())).toEqual({ error: expect.stringMatching(/queue is full \(1 requests waiting\)/) });
    expect(refused.headers['retry-after']).toBe('1');
    expect((await waiting).status).toBe(200);
  });

  it('unloads a deployment: its model is then unknown (404)', async () => {
    await v1('delete', '/deployments/squeezenet-tfjs').expect(204);
    await v1('delete', '/deployments/squeezenet-tfjs').expect(404);
    expect((await request(t.url).get('/v2/models/squeezenet-tfjs/ready').set(auth()).expect(404)).body).toEqual({ error: expect.any(String) });
    const res = await inferBinary('squeezenet-tfjs', binaryRequest(input.subarray(0, ROW), 1)).expect(404);
    expect(JSON.parse((res.body as Buffer).toString())).toEqual({ error: "model 'squeezenet-tfjs' is not deployed" });
    expect((await v1('get', '/deployments').expect(200)).body.items.map((d: { name: string }) => d.name)).not.toContain('squeezenet-tfjs');
  });

  it('refuses to delete a deployed checkpoint (409, naming the deployments)', async () => {
    const res = await v1('delete', `/checkpoints/${checkpointId}`).expect(409);
    expect(res.body.code).toBe('CHECKPOINT_IN_USE');
    expect(res.body.details.references.deployment).toContain('squeezenet-ort');
  });

  it('loads the recorded deployments again after a restart, with their settings, and serves them', async () => {
    const listed = async () =>
      (await v1('get', '/deployments').expect(200)).body.items.map((d: Record<string, unknown>) => [d.name, d.engine, d.backend, d.maxBatchSize, d.maxQueueDelayMs, d.createdAt]);
    await deploy({ name: 'pinned-wasm', engine: 'tfjs', backend: 'wasm', maxBatchSize: 4 }).expect(201);
    const before = await listed();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.map((d: unknown[]) => d[0])).not.toContain('squeezenet-tfjs'); // deleted above: not loaded again
    await t.close({ keepData: true });
    t = await startTestApp({ dataDir: t.dataDir, env: APP_ENV });
    expect(await listed()).toEqual(before);
    expect(maxAbsDiff(await binaryLogits('squeezenet-ort', input, 2), logits)).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDiff(await binaryLogits('pinned-wasm', input, 2), logits)).toBeLessThanOrEqual(1e-3);

    // A start whose tfjs backend is not the one a deployment asked for drops that deployment (and its record).
    await t.close({ keepData: true });
    t = await startTestApp({ dataDir: t.dataDir, env: { ...APP_ENV, WEIGHTSMITH_BACKEND: 'cpu' } });
    const names = (await listed()).map((d: unknown[]) => d[0]);
    expect(names).not.toContain('pinned-wasm');
    expect(names).toContain('squeezenet-ort');
    await deploy({ name: 'pinned-wasm', engine: 'onnxruntime' }).expect(201); // the name is free again
  }, 120_000);
});
