/**
 * Image tier (`npm run test:image`, run by .ci/run): builds the CPU image from Dockerfile with the
 * classic builder and no build cache, checks its size (< 500 MB), brings up docker-compose.yml
 * (PostgreSQL, the S3-compatible store, two server replicas, the proxy) under its own project name
 * on a free 127.0.0.1 port, drives architecture → initialization → deployment → /v2 inference
 * through the published port and checks that both replicas serve it from the shared bucket, then
 * `down` (volumes kept) / `up` and checks that checkpoints, deployments, blobs and logits survived,
 * and finally `down -v` and removes the images the build made (base images stay).
 *
 * The Docker daemon is started (or found running) by ../shared/docker/start-docker.sh, which
 * makes local stand-ins for the base images (no registry is reachable). Environment:
 *   WEIGHTSMITH_DOCKER_DIR      the daemon's state folder (default /tmp/ws-docker)
 *   WEIGHTSMITH_IMAGE_RESULTS   write the measured figures as JSON to this path (relative to the
 *                               repository), e.g. bench/results/image.json
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { projectRoot } from '../../src/core/io/project-root';
import { builtImageIds, COMPOSE, DOCKER, run, startDocker, tail, type RunResult } from './docker';

const MAX_IMAGE_BYTES = 500e6;
const root = projectRoot();
// Unique per run: a run killed before its teardown cannot collide with the next one.
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
const project = `weightsmith_image_${runId}`;
const tag = `weightsmith:image-test-${runId.replace('_', '-')}`;
const stateDir = process.env.WEIGHTSMITH_DOCKER_DIR || '/tmp/ws-docker';
const adminKey = `ws_image_${randomBytes(16).toString('hex')}`;
const BASE_IMAGES = ['debian:bookworm-slim', 'node:20-bookworm-slim', 'postgres:16'];
/** The store and the proxy of docker-compose.yml, tagged after the server image. */
const SIDE_IMAGES = [`${tag}-s3`, `${tag}-proxy`];
const REPLICAS = ['weightsmith-1', 'weightsmith-2'];

const tierStarted = Date.now();
let env: NodeJS.ProcessEnv = {};
let port = 0;
let builtIds: string[] = [];
let composeStarted = false;
let tornDown = false;
const passed = new Set<string>();
const figures: {
  startDockerSeconds?: number;
  buildSeconds?: number;
  sideImagesSeconds?: number;
  sizeBytes?: number;
  nodeModulesMB?: number;
  firstStartSeconds?: number;
  flowSeconds?: number;
  restartSeconds?: number;
  teardownSeconds?: number;
} = {};

const seconds = (fromMs: number) => Math.round((Date.now() - fromMs) / 100) / 10;
const report = (what: string, data: Record<string, unknown>) => console.log(JSON.stringify({ tier: 'image', what, ...data }));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const p = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => res(p));
    });
    srv.on('error', rej);
  });
}

const docker = (args: string[], timeoutMs = 120_000, check = true): Promise<RunResult> => run(DOCKER, args, { env, timeoutMs, check });
const compose = (args: string[], timeoutMs = 300_000, check = true): Promise<RunResult> =>
  run(COMPOSE, ['--ansi', 'never', '-p', project, '-f', join(root, 'docker-compose.yml'), '--project-directory', root, ...args], { env, timeoutMs, check });

async function composeLogs(): Promise<string> {
  const res = await compose(['logs', '--no-color', '--tail', '150'], 60_000, false).catch((e: Error) => ({ stdout: '', stderr: e.message }));
  return tail(res.stdout + res.stderr, 8000);
}

/**
 * fetch with a deadline. Node 20's fetch (undici) never settles when the connection is reset after
 * the request was sent, which is what docker-proxy does while the container's port is not yet
 * listening: without an abort on a timer that keeps the event loop alive, the test would hang.
 */
async function fetchWithin(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

interface ApiResponse<T> {
  status: number;
  /** The body parsed as JSON, else its text. */
  body: T;
  bytes: Buffer;
  headers: Headers;
}

/** One authenticated request to the server under test; the whole answer is read within 300 s. */
async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const url = `http://127.0.0.1:${port}${path}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${method} ${path}: no complete answer within 300 s`)), 300_000);
  try {
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      parsed = bytes.toString('utf8', 0, Math.min(bytes.length, 2000)); // not JSON: some text for messages
    }
    return { status: res.status, body: parsed as T, bytes, headers: res.headers };
  } finally {
    clearTimeout(timer);
  }
}

async function expectStatus<T>(what: string, res: ApiResponse<T>, statuses: number[]): Promise<T> {
  if (!statuses.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 2000)}\n--- compose logs ---\n${await composeLogs()}`);
  }
  return res.body;
}

/** Until both replicas answered /health/ready with 200 through the proxy (it names the replica that answered). */
async function waitReady(timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ready = new Set<string>();
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetchWithin(`http://127.0.0.1:${port}/health/ready`, {}, 3000);
      if (res.status === 200) ready.add((res.headers.get('x-weightsmith-replica') ?? '?').split(',').at(-1)!.trim());
      if (ready.size >= REPLICAS.length) return;
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 500)}; ready: ${[...ready].join(', ')}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`replicas behind 127.0.0.1:${port} not ready after ${timeoutMs} ms (${last})\n--- compose logs ---\n${await composeLogs()}`);
}

async function weightsSha256(checkpointId: string): Promise<string> {
  const res = await api<string>('GET', `/v1/checkpoints/${checkpointId}/weights`);
  if (res.status !== 200) throw new Error(`GET weights of ${checkpointId}: HTTP ${res.status} ${res.body}`);
  return createHash('sha256').update(res.bytes).digest('hex');
}

interface InferOutput {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/** A fixed, non-trivial image-shaped input: the same numbers before and after the restart. */
function inferInput(name: string): unknown {
  const n = 3 * 224 * 224;
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return { id: 'image-tier', inputs: [{ name, shape: [1, 3, 224, 224], datatype: 'FP32', data }] };
}

/** The logits of one inference answer, checked. */
async function logitsOf(res: ApiResponse<{ id?: string; outputs: InferOutput[] }>): Promise<number[]> {
  const out = await expectStatus('POST /v2/models/sq/infer', res, [200]);
  expect(out.id).toBe('image-tier');
  expect(out.outputs).toHaveLength(1);
  expect(out.outputs[0].shape).toEqual([1, 1000]);
  expect(out.outputs[0].datatype).toBe('FP32');
  const logits = out.outputs[0].data;
  expect(logits).toHaveLength(1000);
  expect(logits.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
  expect(Math.max(...logits.map(Math.abs))).toBeGreaterThan(0);
  return logits;
}

/**
 * Infers through the proxy until each replica has answered (a replica loads a deployment made on
 * the other within WEIGHTSMITH_DEPLOYMENT_SYNC_MS); every answer must equal the first.
 */
async function inferOnEveryReplica(inputName: string): Promise<number[]> {
  const seen = new Map<string, number[]>();
  const deadline = Date.now() + 60_000;
  while (seen.size < REPLICAS.length && Date.now() < deadline) {
    const res = await api<{ id?: string; outputs: InferOutput[] }>('POST', '/v2/models/sq/infer', inferInput(inputName));
    if (res.status === 404) {
      await new Promise((r) => setTimeout(r, 250)); // the other replica has not loaded it yet
      continue;
    }
    // nginx lists every replica it tried; the last one answered.
    const replica = (res.headers.get('x-weightsmith-replica') ?? '?').split(',').at(-1)!.trim();
    seen.set(replica, await logitsOf(res));
  }
  expect(seen.size).toBe(REPLICAS.length);
  const [first, ...rest] = [...seen.values()];
  for (const other of rest) expect(other).toEqual(first);
  report('replicas', { answeredBy: [...seen.keys()] });
  return first;
}

/** Files under blobs/sha256 in a replica's data volume: none, the bytes live in the bucket. */
async function blobFilesInVolume(volume: string): Promise<string> {
  const res = await docker(['run', '--rm', '--entrypoint', 'sh', '-v', `${volume}:/data`, tag, '-c', 'find /data/blobs -path "*sha256*" -type f 2>/dev/null | head -5; true'], 120_000);
  return res.stdout.trim();
}

async function containerId(service: string): Promise<string> {
  const id = (await compose(['ps', '-q', service], 60_000)).stdout.trim();
  if (!id) throw new Error(`no container for service ${service}`);
  return id;
}

async function waitHealthy(service: string, timeoutMs = 120_000): Promise<void> {
  const id = await containerId(service);
  const deadline = Date.now() + timeoutMs;
  let status = '';
  while (Date.now() < deadline) {
    status = (await docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', id], 30_000)).stdout.trim();
    if (status === 'healthy') return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`container ${service} is "${status}", not healthy, after ${timeoutMs} ms`);
}

/** Idempotent: compose down -v, then the images this build made; returns what is left over. */
async function teardown(): Promise<string[]> {
  if (tornDown) return [];
  const started = Date.now();
  const left: string[] = [];
  const label = `label=com.docker.compose.project=${project}`;
  if (composeStarted) {
    const down = await compose(['down', '-v', '--remove-orphans', '-t', '20'], 300_000, false);
    if (down.code !== 0) left.push(`docker-compose down -v failed: ${tail(down.stderr, 2000)}`);
  }
  const baseIds = (await docker(['image', 'inspect', '-f', '{{.Id}}', ...BASE_IMAGES], 60_000, false)).stdout
    .split('\n')
    .map((s) => s.trim().replace(/^sha256:/, '').slice(0, 12))
    .filter(Boolean);
  const ours = [tag, ...SIDE_IMAGES, ...builtIds.filter((id) => !baseIds.includes(id)).reverse()];
  await docker(['rmi', ...ours], 300_000, false); // "No such image" for layers removed with their child
  const still = (await docker(['image', 'inspect', '-f', '{{.Id}}', ...ours], 60_000, false)).stdout.trim();
  if (still) left.push(`images: ${still.split('\n').join(' ')}`);
  for (const kind of ['container', 'volume', 'network'] as const) {
    const args = kind === 'container' ? ['ps', '-a', '-q', '--filter', label] : [kind, 'ls', '-q', '--filter', label];
    const found = (await docker(args, 60_000, false)).stdout.trim();
    if (found) left.push(`${kind}s: ${found.split('\n').join(' ')}`);
  }
  const baseLeft = (await docker(['image', 'inspect', '-f', '{{.Id}}', ...BASE_IMAGES], 60_000, false)).stdout.trim().split('\n').filter(Boolean);
  if (baseLeft.length !== BASE_IMAGES.length) left.push(`base images missing after teardown: ${BASE_IMAGES.join(', ')}`);
  tornDown = true;
  figures.teardownSeconds = seconds(started);
  return left;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

async function writeResults(target: string): Promise<void> {
  const dockerVersion = (await docker(['version', '-f', '{{.Server.Version}}'], 30_000, false)).stdout.trim();
  const composeVersion = (await run(COMPOSE, ['version', '--short'], { env, timeoutMs: 30_000, check: false })).stdout.trim();
  const file = resolve(root, target);
  const result = {
    bench: 'image',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpuModel(), memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10 },
    versions: { node: process.version, docker: dockerVersion, dockerCompose: composeVersion },
    cpuImage: {
      sizeBytes: figures.sizeBytes,
      sizeMB: Math.round((figures.sizeBytes ?? 0) / 1e5) / 10,
      buildSeconds: figures.buildSeconds,
      sideImagesSeconds: figures.sideImagesSeconds,
      sideImages: 'the S3 store (Swift s3api from Debian packages) and the nginx proxy, built by docker-compose build with the build cache',
      buildCache:
        "none for the project's layers (docker build --no-cache, classic builder); base images node:20-bookworm-slim " +
        '(build and runtime stages) were local, made by start-docker.sh before the timed build',
      nodeModulesMB: figures.nodeModulesMB,
    },
    startDockerSeconds: figures.startDockerSeconds,
    firstStartSeconds: figures.firstStartSeconds,
    flowSeconds: figures.flowSeconds,
    flow: 'squeezenet1_0 zoo architecture → kaiming initialization → onnxruntime deployment → [1,3,224,224] FP32 JSON inferences until both replicas answered',
    restartSeconds: figures.restartSeconds,
    teardownSeconds: figures.teardownSeconds,
    tierSeconds: seconds(tierStarted),
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  report('results', { file });
}

describe('Docker image and docker-compose.yml (PostgreSQL, S3 store, two replicas, proxy)', () => {
  const state: { checkpointId?: string; inputName?: string; logits?: number[]; sha256?: string } = {};

  beforeAll(async () => {
    const started = Date.now();
    const dockerHost = await startDocker(stateDir);
    figures.startDockerSeconds = seconds(started);
    port = await freePort();
    env = {
      ...process.env,
      DOCKER_HOST: dockerHost,
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '0',
      WEIGHTSMITH_IMAGE: tag,
      WEIGHTSMITH_PORT: String(port),
      WEIGHTSMITH_BIND: '127.0.0.1',
      WEIGHTSMITH_ADMIN_KEY: adminKey,
    };
    report('setup', { dockerHost, project, tag, port, startDockerSeconds: figures.startDockerSeconds });
  }, 20 * 60 * 1000);

  afterAll(async () => {
    const left = await teardown();
    if (left.length > 0) console.error(`image tier left behind: ${left.join('; ')}`);
    const target = process.env.WEIGHTSMITH_IMAGE_RESULTS;
    if (target && passed.size === 4 && left.length === 0) await writeResults(target);
    report('done', { tierSeconds: seconds(tierStarted), passed: [...passed] });
  }, 10 * 60 * 1000);

  it('builds the CPU image (classic builder, no cache) under 500 MB, non-root, with a health check', async () => {
    const started = Date.now();
    const build = await run(DOCKER, ['build', '--network', 'host', '--no-cache', '--rm', '--force-rm', '-t', tag, '.'], {
      env,
      cwd: root,
      timeoutMs: 30 * 60 * 1000,
      check: false,
    });
    builtIds = builtImageIds(build.stdout);
    if (build.code !== 0) throw new Error(`docker build failed (${build.code ?? build.signal}):\n${tail(build.stdout, 6000)}\n${tail(build.stderr, 4000)}`);
    figures.buildSeconds = seconds(started);

    figures.sizeBytes = Number((await docker(['image', 'inspect', '-f', '{{.Size}}', tag])).stdout.trim());
    const config = JSON.parse((await docker(['image', 'inspect', '-f', '{{json .Config}}', tag])).stdout) as {
      User: string;
      Healthcheck: { Test: string[] } | null;
      Entrypoint: string[];
    };
    const sideStarted = Date.now();
    await compose(['build', 's3', 'proxy'], 20 * 60 * 1000);
    figures.sideImagesSeconds = seconds(sideStarted);
    const probe = await docker(
      ['run', '--rm', '--entrypoint', 'sh', tag, '-c',
        'du -sm /app/node_modules | cut -f1; ls /app/node_modules/onnxruntime-node/bin/napi-v6 | tr "\\n" " "; echo; ' +
        'for p in webgpu @tensorflow/tfjs-backend-webgpu prisma @prisma/engines typescript; do [ -e /app/node_modules/$p ] && echo "present $p"; done; true'],
      120_000,
    );
    const [mb, platforms, ...present] = probe.stdout.trim().split('\n');
    figures.nodeModulesMB = Number(mb);
    report('image', { tag, buildSeconds: figures.buildSeconds, sizeBytes: figures.sizeBytes, sizeMB: figures.sizeBytes / 1e6, nodeModulesMB: figures.nodeModulesMB });

    expect(figures.sizeBytes).toBeGreaterThan(100e6);
    expect(figures.sizeBytes).toBeLessThan(MAX_IMAGE_BYTES);
    expect(config.User).toBe('node');
    expect(config.Healthcheck?.Test.join(' ')).toContain('/health/');
    expect(config.Entrypoint).toEqual(['node', 'dist/src/cli/main.js']);
    expect(platforms.trim()).toBe('linux');
    expect(present).toEqual([]);
    passed.add('build');
  }, 35 * 60 * 1000);

  it('serves architecture → initialization → deployment → /v2 inference through the published port', async () => {
    if (!passed.has('build')) throw new Error('skipped: the image did not build');
    const upStarted = Date.now();
    composeStarted = true; // even a failed `up` may have created something to tear down
    await compose(['up', '-d', '--no-build'], 300_000);
    await waitReady();
    figures.firstStartSeconds = seconds(upStarted);

    const flowStarted = Date.now();
    const arch = await expectStatus('POST /v1/architectures', await api<{ id: string }>('POST', '/v1/architectures', { zoo: 'squeezenet1_0' }), [200, 201]);
    expect(typeof arch.id).toBe('string');

    type Init = { id: string; status: string; checkpointId: string | null; error: unknown };
    let init = await expectStatus(
      'POST /v1/initializations',
      await api<Init>('POST', '/v1/initializations', { architectureId: arch.id, method: 'kaiming', seed: 0 }),
      [200, 201, 202],
    );
    const deadline = Date.now() + 300_000;
    while ((init.status === 'queued' || init.status === 'running') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      init = await expectStatus('GET /v1/initializations/:id', await api<Init>('GET', `/v1/initializations/${init.id}`), [200]);
    }
    expect(init).toMatchObject({ status: 'succeeded' });
    expect(typeof init.checkpointId).toBe('string');
    const checkpointId = init.checkpointId as string;
    state.checkpointId = checkpointId;
    state.sha256 = await weightsSha256(checkpointId);

    const deployment = await expectStatus(
      'POST /v1/deployments',
      await api<{ name: string; engine: string }>('POST', '/v1/deployments', { name: 'sq', checkpointId, engine: 'onnxruntime' }),
      [201],
    );
    expect(deployment).toMatchObject({ name: 'sq', engine: 'onnxruntime' });

    // The replica that did not load it finds the deployment at its next sync (WEIGHTSMITH_DEPLOYMENT_SYNC_MS).
    type ModelMetadata = { inputs: { name: string; shape: number[]; datatype: string }[] };
    let metadata = await api<ModelMetadata>('GET', '/v2/models/sq');
    for (let i = 0; i < 60 && metadata.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 250));
      metadata = await api<ModelMetadata>('GET', '/v2/models/sq');
    }
    const model = await expectStatus('GET /v2/models/sq', metadata, [200]);
    expect(model.inputs).toHaveLength(1);
    expect(model.inputs[0].shape.slice(1)).toEqual([3, 224, 224]);
    expect(model.inputs[0].datatype).toBe('FP32');
    state.inputName = model.inputs[0].name;
    state.logits = await inferOnEveryReplica(state.inputName);
    figures.flowSeconds = seconds(flowStarted);
    report('flow', { firstStartSeconds: figures.firstStartSeconds, flowSeconds: figures.flowSeconds, checkpointId, top: state.logits.slice(0, 3) });

    for (const replica of REPLICAS) await waitHealthy(replica); // the image's HEALTHCHECK
    // The bytes live in the shared bucket, not in the replicas' data volumes.
    for (const n of [1, 2]) expect(await blobFilesInVolume(`${project}_data-${n}`)).toBe('');
    passed.add('flow');
  }, 20 * 60 * 1000);

  it('keeps checkpoints, blobs and deployments across docker-compose down / up (volumes kept)', async () => {
    if (!passed.has('flow')) throw new Error('skipped: the first flow did not pass');
    const { checkpointId, inputName, logits, sha256 } = state as Required<typeof state>;
    const started = Date.now();
    await compose(['down', '-t', '20'], 300_000);
    const volumes = (await docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim().split('\n').filter(Boolean);
    expect(volumes.sort()).toEqual([`${project}_data-1`, `${project}_data-2`, `${project}_pgdata`, `${project}_s3data`]);
    expect((await compose(['ps', '-q'], 60_000)).stdout.trim()).toBe('');
    await compose(['up', '-d', '--no-build'], 300_000);
    await waitReady();
    figures.restartSeconds = seconds(started);

    await expectStatus('GET /v1/checkpoints/:id', await api('GET', `/v1/checkpoints/${checkpointId}`), [200]);
    expect(await weightsSha256(checkpointId)).toBe(sha256);
    const deployment = await expectStatus('GET /v1/deployments/sq', await api<{ name: string; checkpointId: string }>('GET', '/v1/deployments/sq'), [200]);
    expect(deployment).toMatchObject({ name: 'sq', checkpointId });
    const again = await inferOnEveryReplica(inputName);
    const scale = Math.max(1, ...logits.map(Math.abs));
    const maxDiff = Math.max(...again.map((v, i) => Math.abs(v - logits[i])));
    report('restart', { restartSeconds: figures.restartSeconds, identicalLogits: maxDiff === 0, maxAbsDiff: maxDiff });
    expect(maxDiff).toBeLessThanOrEqual(1e-5 * scale);
    passed.add('restart');
  }, 20 * 60 * 1000);

  it('tears down: docker-compose down -v leaves no container, volume, network or built image', async () => {
    expect(await teardown()).toEqual([]);
    passed.add('teardown');
  }, 10 * 60 * 1000);
});
