import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { freePort, startChildServer, type ChildServer } from './lib/child-server';
import { generatedSafetensors, MiB, sha256Of, type GeneratedSafetensors } from './lib/generated-data';
import { downloadSha256, postMultipart } from './lib/http-transfer';
import { MB, numberOption, readProcMemory, resetPeakRss, round, sampleRss, toMB } from './lib/proc-memory';
import { emitReport } from './lib/report';
import { s3Client, s3Env, startSwift, type SwiftS3 } from './lib/swift-s3';

/**
 * Streams a generated safetensors checkpoint (default 2 GiB) through the built server
 * (`dist/src/cli/main.js serve`, auth disabled, embedded PGlite unless --database-url) and back,
 * checking the sha256: once with the filesystem blob store, once with the S3 store on a local
 * Swift s3api (started here). Peers in the same run: a minimal plain-Node server writing to disk,
 * and the AWS SDK itself uploading to and downloading from the same Swift. Prints one JSON object.
 * Usage: node dist-bench/bench/upload-download.js [--size-mib N] [--database-url postgresql://...] [--out FILE]
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

function weightsmith(name: string, storeEnv: () => Record<string, string>): Target {
  return {
    name,
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
        ...storeEnv(),
      };
      return startChildServer([join(DIST, 'src', 'cli', 'main.js'), 'serve', '--port', String(port)], env, port, '/health/ready');
    },
    uploadUrl: (base) => `${base}/v1/checkpoints`,
    downloadUrl: (base, id) => `${base}/v1/checkpoints/${id}/weights`,
  };
}

/** The AWS SDK's own multipart upload and GetObject of the same bytes on the same Swift: the S3 floor. */
async function s3Direct(client: S3Client, file: GeneratedSafetensors, expectedSha: string) {
  const bucket = 'bench-direct';
  await client.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  const t0 = process.hrtime.bigint();
  await new Upload({ client, params: { Bucket: bucket, Key: 'file', Body: Readable.from(file.chunks()) }, partSize: 8 * MiB, queueSize: 4 }).done();
  const uploadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'file' }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.Body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const downloadSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  return {
    upload: { seconds: round(uploadSeconds, 3), MBps: round(file.totalBytes / MB / uploadSeconds, 1) },
    download: { seconds: round(downloadSeconds, 3), MBps: round(file.totalBytes / MB / downloadSeconds, 1) },
    sha256Match: hash.digest('hex') === expectedSha && bytes === file.totalBytes,
  };
}

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
  const swift: SwiftS3 = await startSwift(await freePort());
  try {
    const client = s3Client(swift.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'bench-weightsmith' }));
    const targets = [
      weightsmith('weightsmith-fs', () => ({})),
      weightsmith('weightsmith-s3', () => s3Env(swift.endpoint, 'bench-weightsmith', `run-${Date.now()}/`)),
      peer,
    ];
    for (const target of targets) results[target.name] = await measure(target, file, expectedSha);
    results['aws-sdk-direct-on-swift'] = await s3Direct(client, file, expectedSha);
  } finally {
    await swift.stop();
  }
  const ok = Object.values(results).every((r) => (r as { sha256Match: boolean }).sha256Match);
  await emitReport({
    bench: 'upload-download',
    database: DATABASE_URL ? 'postgresql' : 'pglite',
    s3: 'OpenStack Swift s3api (Debian packages), one node on this machine; the S3 store stages uploads on local disk, validates them, then publishes them as 8 MiB multipart uploads',
    sizeBytes: file.totalBytes,
    tensors: file.tensors.length,
    sha256: expectedSha,
    peakRssTargetMB: PEAK_RSS_TARGET_BYTES / MB,
    ...results,
    ok,
  });
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`upload-download: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
