import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSoup } from '../src/core/averaging';
import { readSafetensorsHeader } from '../src/core/formats/safetensors';
import { fileSource, withFileSource, type RandomAccessSource } from '../src/core/io/random-access';
import { generatedSafetensors, MiB, patternBlock, patternChunks } from './lib/generated-data';
import { MB, numberOption, readProcMemory, resetPeakRss, round, sampleRss, toMB } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * Streams a uniform soup of `--models` (default 8) safetensors checkpoints of `--size-mib`
 * (default 1024) MiB each, generated in a temp folder, and reports its throughput and peak RSS
 * over the idle RSS, next to two ceilings measured in the same run: reading the same files
 * (16 MiB sequential reads) and copying memory (Buffer.copy of 256 MiB blocks), both measured
 * right after the soup.
 * Usage: node dist-bench/bench/soup-stream.js [--models N] [--size-mib N] [--out FILE]
 */
const GiB = 1024 * MiB;

async function writeModel(path: string, dataBytes: number, model: number): Promise<void> {
  const layout = generatedSafetensors(dataBytes);
  const handle = await open(path, 'w');
  try {
    await handle.write(layout.header);
    for (const t of layout.tensors) {
      const seed = t.seed + 1000 * model;
      for (const chunk of patternChunks(seed, t.byteLength, patternBlock(seed))) await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
}

/** Sequential 16 MiB reads of every file: what reading the ingredients alone costs. */
async function readAllFiles(paths: readonly string[]): Promise<{ bytes: number; seconds: number }> {
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const path of paths) {
    await withFileSource(path, async (source: RandomAccessSource) => {
      for (let offset = 0; offset < source.size; offset += 16 * MiB) bytes += (await source.read(offset, Math.min(16 * MiB, source.size - offset))).byteLength;
    });
  }
  return { bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function memoryCopy(totalBytes: number): { bytes: number; seconds: number } {
  const from = Buffer.alloc(256 * MiB, 1);
  const to = Buffer.allocUnsafe(256 * MiB);
  from.copy(to); // warm-up: fault the pages in
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (; bytes < totalBytes; bytes += from.length) from.copy(to);
  return { bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function main(): Promise<void> {
  const models = Math.round(numberOption(process.argv, 'models', 8));
  const sizeMiB = Math.round(numberOption(process.argv, 'size-mib', 1024));
  const dataBytes = sizeMiB * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'weightsmith-bench-soup-'));
  try {
    const paths = Array.from({ length: models }, (_, m) => join(dir, `m${m}.safetensors`));
    const writeStart = process.hrtime.bigint();
    for (const [m, path] of paths.entries()) await writeModel(path, dataBytes, m);
    const writeSeconds = Number(process.hrtime.bigint() - writeStart) / 1e9;

    const sources = await Promise.all(paths.map((p) => fileSource(p)));
    const out = join(dir, 'soup.safetensors');
    const peakReset = resetPeakRss(process.pid);
    const idleRss = readProcMemory(process.pid)!.rssBytes;
    const sampler = sampleRss(process.pid, 50);
    const started = process.hrtime.bigint();
    let result;
    try {
      result = await writeSoup({ method: 'uniform', models: sources.map((source, m) => ({ label: `m${m}`, source })) }, out);
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sampled = sampler.stop();
    const hwm = readProcMemory(process.pid)!.hwmBytes;
    const peakRss = peakReset ? Math.max(hwm, sampled.peakSampledBytes) : sampled.peakSampledBytes;

    // The ceilings, after the soup so that their buffers do not count in its idle RSS.
    const read = await readAllFiles(paths);
    const copy = memoryCopy(8 * GiB);

    // Spot check: the first values of the first tensor are the float32-rounded mean of the inputs.
    const check = await withFileSource(out, async (source) => {
      const header = await readSafetensorsHeader(source);
      const bytes = Buffer.from(await source.read(header.tensors[0].byteOffset, 64));
      const got = Array.from({ length: 16 }, (_, i) => bytes.readFloatLE(4 * i));
      const want = Array.from({ length: 16 }, (_, i) => {
        let sum = 0;
        for (let m = 0; m < models; m++) sum += patternBlock(1 + 1000 * m, 64).readFloatLE(4 * i);
        return Math.fround(sum / models);
      });
      return got.every((v, i) => v === want[i]);
    });

    const inputBytes = models * dataBytes;
    await emitReport({
      bench: 'soup-stream',
      models,
      checkpointBytes: dataBytes,
      inputBytes,
      outputBytes: result.bytesWritten,
      tensorsPerCheckpoint: generatedSafetensors(dataBytes).tensors.length,
      writeInputsSeconds: round(writeSeconds, 2),
      soup: {
        method: 'uniform',
        seconds: round(seconds, 2),
        inputGBps: round(inputBytes / 1e9 / seconds, 3),
        outputGBps: round(result.bytesWritten / 1e9 / seconds, 3),
      },
      fileRead: { bytes: read.bytes, seconds: round(read.seconds, 2), GBps: round(read.bytes / 1e9 / read.seconds, 3) },
      memoryCopy: { bytes: copy.bytes, seconds: round(copy.seconds, 2), GBps: round(copy.bytes / 1e9 / copy.seconds, 3) },
      memory: {
        idleRssMB: toMB(idleRss),
        peakRssMB: toMB(peakRss),
        peakOverIdleMB: toMB(peakRss - idleRss),
        engineHeldPeakMB: toMB(result.plan.stats.peakHeldBytes),
        oneCheckpointMB: round(dataBytes / MB, 1),
        peakFromHwm: peakReset,
      },
      valuesCheck: check,
      note: 'inputs were just written, so reads come largely from the page cache (also for the fileRead ceiling)',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soup-stream: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
