import { execFile } from 'node:child_process';
import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { benchGhnSize, GHN_SIZES, OFFICIAL_CPU_SECONDS, seconds, type GhnSizeName } from './lib/ghn-bench';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * GHN prediction latency for resnet18, resnet50, convnext_tiny and vit_b_16 with pseudo-random GHNs of
 * the released sizes (ghn3tm8: hid 64, 3 layers, 8 heads, max_shape 64,64,16,16; ghn3xlm16: hid 384,
 * 24 layers, 16 heads, max_shape 384,384,16,16, 2.6 GB of float32), against the official PyTorch
 * code's times on this machine kind. Each GHN size runs in its own child process (a wasm heap that
 * overflows can stay broken), bounded in time; when wasm cannot hold a GHN the cpu backend is tried.
 * Per model: GHN graph build, `cold` (first prediction after the GHN is loaded: kernels warm up),
 * `warm` (median of in-process re-runs: what a cache miss costs once the server is warm) and
 * `fill` (the whole initialization: prediction plus torch-default fills and BN buffers, read out).
 * A cache hit (same request again) does no tensor work at all. Prints one JSON object.
 * Usage: node dist/bench/ghn-predict.js [--runs 3] [--xl-runs 1] [--timeout-s 900] [--xl-timeout-s 1800]
 */
async function runChild(size: GhnSizeName, backendName: 'wasm' | 'cpu', runs: number): Promise<unknown> {
  await selectBackend(backendName);
  return benchGhnSize(size, { runs, official: OFFICIAL_CPU_SECONDS[size] });
}

function spawnChild(size: GhnSizeName, backend: string, runs: number, timeoutS: number): Promise<{ ok: boolean; result?: unknown; error?: string; seconds: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=8192', __filename, '--child', size, '--backend', backend, '--runs', String(runs)],
      { timeout: timeoutS * 1000, maxBuffer: 16 << 20, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const elapsed = round(seconds(start), 1);
        const line = stdout.trim().split('\n').pop() ?? '';
        if (!error && line.startsWith('{')) {
          const result = JSON.parse(line) as { models: Record<string, { error?: string }> };
          // A child whose every prediction failed (e.g. the wasm heap overflowed) counts as a failure.
          const ok = Object.values(result.models).some((m) => m.error === undefined);
          return resolve({ ok, result, ...(ok ? {} : { error: 'every prediction failed' }), seconds: elapsed });
        }
        const why = error?.killed ? `killed after the ${timeoutS} s bound` : (stderr.trim().split('\n').slice(-3).join(' | ') || String(error?.message));
        resolve({ ok: false, error: why.slice(0, 500), seconds: elapsed });
      },
    );
  });
}

async function main(): Promise<void> {
  const argv = process.argv;
  const childIndex = argv.indexOf('--child');
  if (childIndex >= 0) {
    const size = argv[childIndex + 1] as GhnSizeName;
    const backend = argv[argv.indexOf('--backend') + 1] as 'wasm' | 'cpu';
    const runs = Number(argv[argv.indexOf('--runs') + 1]);
    process.stdout.write(`${JSON.stringify(await runChild(size, backend, Number.isInteger(runs) && runs >= 0 ? runs : 3))}\n`);
    return;
  }
  const runs = Math.round(numberOption(argv, 'runs', 3));
  const xlRuns = Math.round(numberOption(argv, 'xl-runs', 1));
  const timeoutS = numberOption(argv, 'timeout-s', 900);
  const xlTimeoutS = numberOption(argv, 'xl-timeout-s', 1800);
  const results: Record<string, unknown> = {};
  for (const size of Object.keys(GHN_SIZES) as GhnSizeName[]) {
    const attempts: Record<string, unknown>[] = [];
    for (const backend of ['wasm', 'cpu']) {
      // The pure-JS cpu fallback is ~40x slower than wasm: there only the cold prediction is timed.
      const childRuns = backend === 'cpu' ? 0 : size === 'ghn3xlm16' ? xlRuns : runs;
      const run = await spawnChild(size, backend, childRuns, size === 'ghn3xlm16' ? xlTimeoutS : timeoutS);
      attempts.push({ backend, ...run });
      if (run.ok) break;
    }
    results[size] = { config: GHN_SIZES[size], attempts };
  }
  await emitReport({
      bench: 'ghn-predict',
      note: 'ratio = our seconds / official PyTorch seconds on this machine kind (lower is better; 1 = parity); warm = median of in-process re-runs after the first',
      memoryNote:
        'wasm has a 4 GiB heap and holds ghn3xlm16 (2.6 GB), but its first decoder op on a tensor placed past 2 GiB fails with "memory access out of bounds" (seen in GatherV2 and, before the windowed decoder, in MatMul): in practice the wasm kernels address 2 GiB. Fewer Graphormer layers would not help (the decoder holds 2.4 GB of the 2.6 GB), so the fallback is the pure-JS cpu backend, where only the cold prediction is timed.',
      results,
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
