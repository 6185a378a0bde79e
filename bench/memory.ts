import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixturesDir } from '../src/core/testing/fixtures';
import { freePort, startChildServer, type ChildServer } from './lib/child-server';
import { MiB, type GeneratedTensor } from './lib/generated-data';
import { postMultipart } from './lib/http-transfer';
import { memorySnapshot, type MemorySnapshot } from './lib/memory-snapshot';
import { numberOption } from './lib/proc-memory';
import { emitReport, stringOption } from './lib/report';
import { writeTorchZipFile } from './lib/torch-zip-writer';

/**
 * Memory of the server on embedded PGlite: RSS (and where it lives: wasm memories, malloc, V8) at
 * idle, after the README's flows (upload, architecture, GHN initialization, download, deploy and
 * inference), after deleting the deployment again, and after uploading a large zip-format .pt that
 * the server converts. Each figure is
 * taken after the server has been left alone for `--settle-s` seconds. Runs of other builds or
 * settings are kept in the output file under their own `--label`.
 * Usage: node dist-bench/bench/memory.js [--label NAME] [--server dist/src/main.js] [--env K=V,K=V] [--pt-mib 1024] [--settle-s 10]
 */
const RUNTIME = fixturesDir('runtime');
const GHN = fixturesDir('ghn', 'ghn');

function filePart(path: string): Blob {
  return new Blob([readFileSync(path)]);
}

async function call(server: ChildServer, method: string, path: string, body?: FormData | object): Promise<Record<string, unknown>> {
  const init: RequestInit = { method };
  if (body instanceof FormData) init.body = body;
  else if (body) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function drain(server: ChildServer, path: string): Promise<number> {
  const res = await fetch(server.url + path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.arrayBuffer()).byteLength;
}

/** The README's flows, on the fixtures: what a first user does in the first hour. */
async function readmeFlows(server: ChildServer): Promise<Record<string, unknown>> {
  const rssAfter: Record<string, number> = {};
  const step = async (name: string) => (rssAfter[name] = (await memorySnapshot(server.pid, server.url)).rssMB);
  const arch = await call(server, 'POST', '/v1/architectures', { zoo: 'resnet18' });
  const upload = new FormData();
  upload.set('name', 'resnet18');
  upload.set('tags', 'imagenet,baseline');
  upload.set('architectureId', String(arch.id));
  upload.set('file', filePart(join(RUNTIME, 'resnet18.weights.safetensors')), 'resnet18.safetensors');
  const checkpoint = await call(server, 'POST', '/v1/checkpoints', upload);
  await call(server, 'GET', `/v1/checkpoints/${String(checkpoint.id)}`);
  const downloaded = await drain(server, `/v1/checkpoints/${String(checkpoint.id)}/weights`);
  await call(server, 'GET', `/v1/architectures/${String(arch.id)}/graph`);
  await step('upload and download');

  const ghnForm = new FormData();
  ghnForm.set('name', 'ghn3_h32_l3');
  ghnForm.set('config', readFileSync(join(GHN, 'ghn3_h32_l3.json'), 'utf8'));
  ghnForm.set('file', filePart(join(GHN, 'ghn3_h32_l3.safetensors')), 'ghn3_h32_l3.safetensors');
  const ghn = await call(server, 'POST', '/v1/ghns', ghnForm);
  let init = await call(server, 'POST', '/v1/initializations', { architectureId: arch.id, method: 'ghn', ghnId: ghn.id, seed: 0 });
  for (const deadline = Date.now() + 300_000; init.status !== 'succeeded'; ) {
    if (init.status === 'failed' || init.status === 'cancelled' || Date.now() > deadline) throw new Error(`initialization ended ${String(init.status)}`);
    await new Promise((r) => setTimeout(r, 250));
    init = await call(server, 'GET', `/v1/initializations/${String(init.id)}`);
  }
  await step('GHN initialization');
  const onnxBytes = await drain(server, `/v1/checkpoints/${String(init.checkpointId)}/weights?format=onnx`);
  await step('ONNX export');

  await call(server, 'POST', '/v1/deployments', { name: 'resnet18', checkpointId: checkpoint.id, engine: 'auto', maxBatchSize: 8, maxQueueDelayMs: 2 });
  await call(server, 'GET', '/v2/models/resnet18');
  await step('deployment');
  const input = Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5);
  const requests = 20;
  for (let i = 0; i < requests; i++) {
    await call(server, 'POST', '/v2/models/resnet18/infer', { id: String(i), inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: input }] });
  }
  await step('inference');
  return { checkpointBytesDownloaded: downloaded, onnxExportBytes: onnxBytes, inferRequests: requests, rssMBAfterEachStep: rssAfter };
}

/** A zip-format torch.save of `mib` MiB of float32 tensors (the largest a quarter of it), uploaded and converted by the server. */
async function convertLargePt(server: ChildServer, dir: string, mib: number): Promise<Record<string, unknown>> {
  const tensors: GeneratedTensor[] = [];
  for (let size = (mib * MiB) / 4, layer = 0; size >= MiB; size /= 2, layer++) {
    for (const half of [0, 1]) tensors.push({ name: `layers.${layer}.${half}.weight`, shape: [size / 4 / 1024, 1024], byteLength: size, seed: tensors.length + 1 });
  }
  const path = join(dir, 'large.pt');
  await writeTorchZipFile(path, tensors);
  const size = (await stat(path)).size;
  function* chunks(): Generator<Buffer> {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(4 * MiB);
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) yield Buffer.from(buffer.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  const result = await postMultipart(`${server.url}/v1/checkpoints`, { name: 'large-pt' }, { field: 'file', filename: 'large.pt', size, chunks: chunks() });
  await rm(path, { force: true });
  return { ptBytes: size, status: result.status, seconds: Math.round(result.seconds * 10) / 10, ...(result.status >= 300 ? { body: result.body.slice(0, 300) } : {}) };
}

function parseEnv(list: string): Record<string, string> {
  return Object.fromEntries(list.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function main(): Promise<void> {
  const argv = process.argv;
  const label = stringOption(argv, 'label', 'current');
  const serverMain = resolve(stringOption(argv, 'server', join(__dirname, '..', 'src', 'main.js')));
  const extraEnv = parseEnv(stringOption(argv, 'env', ''));
  const ptMiB = Math.max(0, Math.round(Number(stringOption(argv, 'pt-mib', '1024'))));
  const settleMs = numberOption(argv, 'settle-s', 10) * 1000;
  const dataDir = await mkdtemp(join(tmpdir(), 'weightsmith-bench-memory-'));
  const port = await freePort();
  const phases: Record<string, MemorySnapshot & { flows?: Record<string, unknown>; conversion?: Record<string, unknown> }> = {};
  const server = await startChildServer(
    [serverMain],
    { WEIGHTSMITH_DATA_DIR: dataDir, WEIGHTSMITH_AUTH: 'disabled', WEIGHTSMITH_LOG_LEVEL: 'warn', WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: '', ...extraEnv },
    port,
    '/health/ready',
  );
  const settle = () => new Promise((r) => setTimeout(r, settleMs));
  try {
    await settle();
    phases.idle = await memorySnapshot(server.pid, server.url);
    process.stderr.write(`idle: ${phases.idle.rssMB} MB\n`);
    const flows = await readmeFlows(server);
    await settle();
    phases.afterFlows = { ...(await memorySnapshot(server.pid, server.url)), flows };
    process.stderr.write(`after the flows: ${phases.afterFlows.rssMB} MB\n`);
    // What the deployed model itself holds: the same after deleting it.
    await call(server, 'DELETE', '/v1/deployments/resnet18');
    await settle();
    phases.afterUndeploy = await memorySnapshot(server.pid, server.url);
    process.stderr.write(`after deleting the deployment: ${phases.afterUndeploy.rssMB} MB\n`);
    if (ptMiB > 0) {
      const conversion = await convertLargePt(server, dataDir, ptMiB);
      await settle();
      phases.afterConversion = { ...(await memorySnapshot(server.pid, server.url)), conversion };
      process.stderr.write(`after a ${ptMiB} MiB .pt: ${phases.afterConversion.rssMB} MB\n`);
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const out = stringOption(argv, 'out', '');
  const earlier = out && existsSync(out) ? ((JSON.parse(readFileSync(out, 'utf8')) as { runs?: Record<string, unknown> }).runs ?? {}) : {};
  await emitReport({
    bench: 'memory',
    method: 'RSS of the server process (/proc/PID/status), split by mapping kind (/proc/PID/smaps: wasm memories are the mappings of 4 GiB and more), V8 heap and external from /metrics; MB = 10^6 bytes; each phase after the server sat idle for settleSeconds',
    runs: { ...earlier, [label]: { server: serverMain.replace(resolve(__dirname, '..', '..') + '/', ''), env: extraEnv, settleSeconds: settleMs / 1000, ptMiB, phases, measuredAt: new Date().toISOString() } },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
