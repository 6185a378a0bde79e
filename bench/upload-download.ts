import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startChildServer, type ChildServer } from './lib/child-server';
import { generatedSafetensors, MiB, sha256Of, type GeneratedSafetensors } from './lib/generated-data';
import { downloadSha256, postMultipart } from './lib/http-transfer';
import { MB, numberOption, readProcMemory, resetPeakRss, round, sampleRss, toMB } from './lib/proc-memory';

/**
 * Streams a generated safetensors checkpoint (default 2 GiB) through the built server
 * (`dist/src/cli/main.js serve`, auth disabled, embedded PGlite unless --database-url) and back,
 * checking the sha256, and does the same against a minimal plain-Node peer. Prints one JSON object.
 * Usage: node dist/bench/upload-download.js [--size-mib N] [--database-url postgresql://...]
 */
const PEAK_RSS_TARGET_BYTES = 300 * MB;
const DIST = join(__dirname, '..');

interface Target {
  name: string;
  start(dataDir: string): Promise<ChildServer>;
  uploadUrl(base: string): string;
  downloadUrl(base: string, id: string): string;
}

function stringOption(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** PGlite (the default) keeps its PostgreSQL in the server process: its memory counts there. */
const DATABASE_URL = stringOption('database-url') ?? '';

const weightsmith: Target = {
  name: 'weightsmith',
  async start(dataDir) {
    const port = await freePort();
    const env = {
      WEIGHTSMITH_DATA_DIR: dataDir,
      WEIGHTSMITH_AUTH: 'disabled',
      WEIGHTSMITH_LOG_LEVEL: 'warn',
      WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0',
      WEIGHTSMITH_MAX_UPLOAD_BYTES: String(64 * 1024 * MiB),
      HOST: '127.0.0.1',
      DATABASE_URL,
    };
    return startChildServer([join(DIST, 'src', 'cli', 'main.js'), 'serve', '--port', String(port)], env, port, '/health/ready');
  },
  uploadUrl: (base) => `${base}/v1/checkpoints`,
  downloadUrl: (base, id) => `${base}/v1/checkpoints/${id}/weights`,
};

const peer: Target = {
  name: 'plain-node-peer',
  async start(dataDir) {
    const port = await freePort();
    return startChildServer([join(__dirname, 'lib', 'peer-server.js'), String(port), dataDir], {}, port, '/health');
  },
  uploadUrl: (base) => `${base}/files`,
  downloadUrl: (base, id) => `${base}/files/${id}`,
};

async function measure(target: Target, file: GeneratedSafetensors, expectedSha: string) {
  const dataDir = await mkdtemp(join(tmpdir(), `weightsmith-bench-${target.name}-`));
  let server: ChildServer | undefined;
  try {
    server = await target.start(dataDir);
    const startup = readProcMemory(server.pid);
    const idleRss = startup?.rssBytes ?? NaN;
    const transferOnly = resetPeakRss(server.pid);
    const sampler = sampleRss(server.pid, 100);
    const upload = await postMultipart(target.uploadUrl(server.url), { name: 'bench' }, {
      field: 'file',
      filename: 'bench.safetensors',
      size: file.totalBytes,
      chunks: file.chunks(),
    });
    if (upload.status !== 201) throw new Error(`${target.name}: upload answered ${upload.status}: ${upload.body.slice(0, 500)}`);
    const created = JSON.parse(upload.body) as { id: string; sha256: string };
    const download = await downloadSha256(target.downloadUrl(server.url, created.id));
    const sampled = sampler.stop();
    const hwm = readProcMemory(server.pid)?.hwmBytes ?? NaN;
    if (download.status !== 200) throw new Error(`${target.name}: download answered ${download.status}`);
    const shaOk = download.sha256 === expectedSha && created.sha256 === expectedSha && download.bytes === file.totalBytes;
    return {
      upload: { seconds: round(upload.seconds, 3), MBps: round(file.totalBytes / MB / upload.seconds, 1) },
      download: { seconds: round(download.seconds, 3), MBps: round(file.totalBytes / MB / download.seconds, 1) },
      sha256Match: shaOk,
      memory: {
        startupPeakRssMB: toMB(startup?.hwmBytes ?? NaN),
        idleRssMB: toMB(idleRss),
        // VmHWM is reset after start-up where Linux allows it, so this is the transfers' peak.
        peakRssMB: toMB(hwm),
        peakRssCovers: transferOnly ? 'transfers' : 'whole process',
        peakOverIdleMB: toMB(hwm - idleRss),
        peakSampledRssMB: toMB(sampled.peakSampledBytes),
        rssSamples: sampled.samples,
      },
      peakRssUnderTarget: hwm < PEAK_RSS_TARGET_BYTES,
    };
  } catch (error) {
    throw new Error(`${target.name}: ${(error as Error).message}${server ? `\n--- server output ---\n${server.output()}` : ''}`);
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizeMiB = Math.round(numberOption(process.argv, 'size-mib', 2048));
  const file = generatedSafetensors(sizeMiB * MiB);
  // Hashed once up front, so that neither transfer pays for it.
  const expectedSha = sha256Of(file.chunks());
  const results: Record<string, unknown> = {};
  for (const target of [weightsmith, peer]) results[target.name] = await measure(target, file, expectedSha);
  const ok = Object.values(results).every((r) => (r as { sha256Match: boolean }).sha256Match);
  process.stdout.write(
    JSON.stringify({
      bench: 'upload-download',
      node: process.version,
      database: DATABASE_URL ? 'postgresql' : 'pglite',
      sizeBytes: file.totalBytes,
      tensors: file.tensors.length,
      sha256: expectedSha,
      peakRssTargetMB: PEAK_RSS_TARGET_BYTES / MB,
      ...results,
      ok,
    }) + '\n',
  );
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`upload-download: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
