import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeSafetensors } from '../src/core/formats/safetensors';
import { buildZooModel } from '../src/core/graph/zoo';
import { randomWeights } from '../src/core/runtime';
import { freePort, startChildServer, type ChildServer } from './lib/child-server';
import { postMultipart } from './lib/http-transfer';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * HTTP load on the Open Inference Protocol: starts the built server (loopback, auth disabled,
 * fresh PGlite), stores zoo resnet18 with seeded random weights, deploys it twice (dynamic
 * batching on and off, same engine), and drives POST /v2/models/{m}/infer with binary-extension
 * batch-1 requests from keep-alive node:http agents at concurrency 1, 4 and 16. Each phase is
 * bounded by --requests and --seconds. Reports throughput, p50/p95/p99 latency and the mean rows
 * per engine run (from /metrics). Prints one JSON object.
 * Usage: node dist/bench/oip-load.js [--requests 120] [--seconds 10] [--engine auto|tfjs|onnxruntime]
 */
const DIST = join(__dirname, '..');
const MODEL = 'resnet18';
const CONCURRENCY = [1, 4, 16];
const REQUESTS = numberOption(process.argv, 'requests', 120);
const SECONDS = numberOption(process.argv, 'seconds', 10);
const ENGINE = ((): string => {
  const at = process.argv.indexOf('--engine');
  return at < 0 ? 'auto' : process.argv[at + 1];
})();

interface HttpResult {
  status: number;
  body: Buffer;
}

function call(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}, agent?: Agent): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function postJson(url: string, value: unknown): Promise<Record<string, unknown>> {
  const res = await call(url, 'POST', Buffer.from(JSON.stringify(value)), { 'Content-Type': 'application/json' });
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${res.body.toString().slice(0, 500)}`);
  return JSON.parse(res.body.toString()) as Record<string, unknown>;
}

/** One batch-1 request in the binary tensor data extension, asking for binary logits. */
function inferBody(): { body: Buffer; headers: Record<string, string> } {
  const pixels = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i) * 0.5;
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: pixels.byteLength } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(pixels.buffer)]),
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Sum and count of the batch-size histogram of one model, from the Prometheus text. */
async function batchStats(base: string, model: string): Promise<{ sum: number; count: number }> {
  const text = (await call(`${base}/metrics`, 'GET')).body.toString();
  const value = (name: string): number => Number(new RegExp(`^${name}\\{model="${model}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('weightsmith_inference_batch_size_sum'), count: value('weightsmith_inference_batch_size_count') };
}

async function phase(base: string, model: string, concurrency: number, payload: ReturnType<typeof inferBody>) {
  const url = `${base}/v2/models/${model}/infer`;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    // Warm-up: open the connections and let the engine see a few batches.
    await Promise.all(Array.from({ length: concurrency }, () => call(url, 'POST', payload.body, payload.headers, agent)));
    const before = await batchStats(base, model);
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let started = 0;
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const worker = async (): Promise<void> => {
      while (started < REQUESTS && performance.now() < deadline) {
        started++;
        const s = performance.now();
        const res = await call(url, 'POST', payload.body, payload.headers, agent);
        latencies.push(performance.now() - s);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const after = await batchStats(base, model);
    return { deployment: model, concurrency, latencies, statuses, seconds, engineRuns: after.count - before.count, rows: after.sum - before.sum };
  } finally {
    agent.destroy();
  }
}

type PhaseResult = Awaited<ReturnType<typeof phase>>;
type PooledResult = { dynamicBatching: boolean } & ReturnType<typeof pool>;

/** Throughput, latency percentiles and rows per engine run over the runs of one configuration. */
function pool(runs: PhaseResult[]) {
  const sorted = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const engineRuns = runs.reduce((n, r) => n + r.engineRuns, 0);
  return {
    deployment: runs[0].deployment,
    concurrency: runs[0].concurrency,
    runs: runs.length,
    requests: sorted.length,
    statuses,
    seconds: round(seconds, 2),
    throughputRps: round((statuses['200'] ?? 0) / seconds, 1),
    throughputRpsPerRun: runs.map((r) => round((r.statuses['200'] ?? 0) / r.seconds, 1)),
    p50Ms: round(percentile(sorted, 50), 1),
    p95Ms: round(percentile(sorted, 95), 1),
    p99Ms: round(percentile(sorted, 99), 1),
    engineRuns,
    meanRowsPerRun: engineRuns > 0 ? round(runs.reduce((n, r) => n + r.rows, 0) / engineRuns, 2) : null,
  };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  const dataDir = await mkdtemp(join(tmpdir(), 'weightsmith-oip-load-'));
  let server: ChildServer | undefined;
  try {
    const port = await freePort();
    const env = {
      WEIGHTSMITH_DATA_DIR: dataDir,
      WEIGHTSMITH_AUTH: 'disabled',
      WEIGHTSMITH_LOG_LEVEL: 'warn',
      WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0',
      WEIGHTSMITH_BACKEND: 'wasm',
      HOST: '127.0.0.1',
      DATABASE_URL: '',
    };
    server = await startChildServer([join(DIST, 'src', 'cli', 'main.js'), 'serve', '--port', String(port)], env, port, '/health/ready');
    const base = server.url;
    const arch = await postJson(`${base}/v1/architectures`, { zoo: MODEL });
    const graph = buildZooModel(MODEL);
    const weights = [...randomWeights(graph, { seed: 1, usedOnly: false })].map(([name, t]) => ({ name, ...t }));
    const file = Buffer.from(serializeSafetensors(weights));
    const upload = await postMultipart(`${base}/v1/checkpoints`, { architectureId: String(arch.id) }, { field: 'file', filename: `${MODEL}.safetensors`, size: file.length, chunks: [file] });
    if (upload.status !== 201) throw new Error(`checkpoint upload: ${upload.status} ${upload.body.slice(0, 500)}`);
    const checkpointId = (JSON.parse(upload.body) as { id: string }).id;
    const deployments = [
      { name: `${MODEL}-batched`, dynamicBatching: true },
      { name: `${MODEL}-unbatched`, dynamicBatching: false },
    ];
    const deployed: Record<string, unknown>[] = [];
    for (const d of deployments) {
      const created = await postJson(`${base}/v1/deployments`, { ...d, checkpointId, engine: ENGINE, maxBatchSize: 16, maxQueueDelayMs: 2, maxQueueSize: 256 });
      deployed.push({ name: created.name, engine: created.engineName, dynamicBatching: created.dynamicBatching, maxBatchSize: created.maxBatchSize, maxQueueDelayMs: created.maxQueueDelayMs });
    }
    const payload = inferBody();
    // Per concurrency, the two deployments run in A B B A order and their two runs are pooled,
    // so that drift in what else the shared machine does biases neither.
    const results: PooledResult[] = [];
    for (const c of CONCURRENCY) {
      const runs: Record<string, PhaseResult[]> = {};
      for (const d of [...deployments, ...[...deployments].reverse()]) {
        const r = await phase(base, d.name, c, payload);
        process.stderr.write(`${JSON.stringify({ ...r, latencies: undefined, rps: round((r.statuses['200'] ?? 0) / r.seconds, 1) })}\n`);
        (runs[d.name] ??= []).push(r);
      }
      for (const d of deployments) results.push({ dynamicBatching: d.dynamicBatching, ...pool(runs[d.name]) });
    }
    const rps = (batching: boolean, c: number) => results.find((r) => r.dynamicBatching === batching && r.concurrency === c)?.throughputRps ?? NaN;
    const report = {
      bench: 'oip-load',
      loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0], 2) },
      settings: {
        model: `${MODEL} (zoo, random weights)`,
        request: 'binary tensor extension, batch 1 (602,112 input bytes), binary logits',
        requestsPerPhase: REQUESTS,
        secondsPerPhase: SECONDS,
        order: 'per concurrency: batched, unbatched, unbatched, batched; the two runs of each pooled',
        client: 'node:http keep-alive Agent (maxSockets = concurrency), same machine',
        server: 'dist/src/cli/main.js serve, loopback, auth disabled, PGlite',
      },
      deployments: deployed,
      results,
      batchingThroughputGain: Object.fromEntries(CONCURRENCY.map((c) => [`concurrency${c}`, round(rps(true, c) / rps(false, c), 2)])),
    };
    await emitReport(report);
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`oip-load bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
