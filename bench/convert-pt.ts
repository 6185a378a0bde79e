import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../src/core/formats/safetensors';
import { withFileSource } from '../src/core/io/random-access';
import { MiB, patternChunks, type GeneratedTensor } from './lib/generated-data';
import { MB, numberOption, round, sampleRss, toMB } from './lib/proc-memory';
import { emitReport } from './lib/report';
import { writeTorchZipFile } from './lib/torch-zip-writer';

/**
 * Writes a ~1 GiB zip-format torch.save (float32 tensors, the largest a quarter of the total), runs
 * the converter of `weightsmith convert` on it in a child process and checks its peak memory
 * against 2 × largest tensor + 200 MB; records the longest event-loop delay while converting.
 * `--deflate` writes deflated entries (a re-zipped checkpoint), which are inflated while converting.
 * Prints one JSON object.
 * Usage: node dist/bench/convert-pt.js [--size-mib N] [--deflate]
 */
const HEADROOM_BYTES = 200 * MB;

/** Pairs of tensors halving in size from a quarter of the total (1/4 + 1/4 + 1/8 + 1/8 + ...), plus biases. */
function planTensors(totalBytes: number): GeneratedTensor[] {
  const tensors: GeneratedTensor[] = [];
  let size = totalBytes / 4;
  for (let layer = 0; size >= MiB; layer++, size /= 2) {
    for (const half of [0, 1]) {
      const rows = size / 4 / 1024;
      const i = tensors.length;
      tensors.push({ name: `layers.${layer}.${half}.weight`, shape: [rows, 1024], byteLength: size, seed: i + 1 });
      tensors.push({ name: `layers.${layer}.${half}.bias`, shape: [rows], byteLength: rows * 4, seed: i + 1001 });
    }
  }
  return tensors;
}

function run(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string; seconds: number; peakSampledBytes: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = sampleRss(child.pid!, 100);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('exit', (status) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ status, stdout, stderr, seconds, peakSampledBytes: sampler.stop().peakSampledBytes });
    });
  });
}

async function main(): Promise<void> {
  const sizeMiB = Math.round(numberOption(process.argv, 'size-mib', 1024));
  const deflate = process.argv.includes('--deflate');
  if (sizeMiB < 4 || (sizeMiB & (sizeMiB - 1)) !== 0) throw new Error('--size-mib must be a power of two of at least 4');
  const dir = await mkdtemp(join(tmpdir(), 'weightsmith-bench-convert-'));
  try {
    const tensors = planTensors(sizeMiB * MiB);
    const input = join(dir, 'model.pt');
    const output = join(dir, 'model.safetensors');
    const writeStart = process.hrtime.bigint();
    const inputBytes = await writeTorchZipFile(input, tensors, { deflate });
    const writeSeconds = Number(process.hrtime.bigint() - writeStart) / 1e9;

    const maxRssFile = join(dir, 'max-rss');
    const convert = await run(['-r', join(__dirname, 'lib', 'report-max-rss.js'), join(__dirname, 'lib', 'convert-measured.js'), input, output], {
      WEIGHTSMITH_BENCH_MAX_RSS_FILE: maxRssFile,
    });
    if (convert.status !== 0) throw new Error(`convert exited with ${convert.status}: ${convert.stderr}`);
    const peakRss = Number(await readFile(maxRssFile, 'utf8'));
    const summary = JSON.parse(convert.stdout) as { tensors: number; bytes: number; sha256: string; eventLoopMaxDelayMs: number };

    const largest = tensors.reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
    const verification = await verify(output, tensors, largest);
    const bound = 2 * largest.byteLength + HEADROOM_BYTES;
    await emitReport({
        bench: 'convert-pt',
        entries: deflate ? 'deflated' : 'stored',
        inputBytes,
        outputBytes: summary.bytes,
        tensors: tensors.length,
        writeInputSeconds: round(writeSeconds, 2),
        convert: { seconds: round(convert.seconds, 2), MBps: round(inputBytes / MB / convert.seconds, 1), outputMBps: round(summary.bytes / MB / convert.seconds, 1) },
        memory: { peakRssMB: toMB(peakRss), peakSampledRssMB: toMB(convert.peakSampledBytes) },
        eventLoopMaxDelayMs: summary.eventLoopMaxDelayMs,
        largestTensorBytes: largest.byteLength,
        boundMB: toMB(bound),
        boundHeld: peakRss <= bound,
        verification,
        ok: verification.tensorsMatch && verification.largestSha256Match && peakRss <= bound,
      });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names and shapes of every tensor, and the bytes of the largest, against what was written. */
async function verify(output: string, tensors: GeneratedTensor[], largest: GeneratedTensor) {
  return withFileSource(output, async (source) => {
    const header = await readSafetensorsHeader(source);
    const written = new Map(header.tensors.map((t) => [t.name, t]));
    const tensorsMatch =
      written.size === tensors.length &&
      tensors.every((t) => written.get(t.name)?.dtype === 'F32' && written.get(t.name)?.shape.join(',') === t.shape.join(','));
    const entry = written.get(largest.name)!;
    const actual = createHash('sha256');
    for (let done = 0; done < entry.byteLength; done += 16 * MiB) {
      actual.update(await source.read(entry.byteOffset + done, Math.min(16 * MiB, entry.byteLength - done)));
    }
    const expected = createHash('sha256');
    for (const chunk of patternChunks(largest.seed, largest.byteLength)) expected.update(chunk);
    const sha256 = actual.digest('hex');
    return { tensorsMatch, largestTensor: largest.name, largestSha256: sha256, largestSha256Match: sha256 === expected.digest('hex') };
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`convert-pt: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
