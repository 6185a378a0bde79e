import { Writable } from 'node:stream';
import { writeSafetensors } from '../src/core/formats/safetensors';
import { buildZooModel } from '../src/core/graph/zoo';
import { initializationTensors, type InitMethod } from '../src/core/init';
import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { estimateInitializationSeconds, INITIALIZATION_RATES, orthogonalQrFlops } from '../src/modules/initializations/initialization-cost';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * The rates behind the initialization cost estimate (src/modules/initializations/initialization-cost.ts):
 * seconds to draw each classical initialization of a few zoo models and serialize it as
 * safetensors (into a sink that discards the bytes), as the initialization worker does, on the tf
 * wasm backend it uses for orthogonal's QR products. Per model and method: the median of N runs,
 * seconds per parameter and, for orthogonal, seconds per QR floating-point operation (its time
 * less kaiming's, which draws the same Gaussian values). Prints one JSON object, with the rates
 * the estimate uses and the estimate of each case next to what was measured.
 * Usage: node dist-bench/bench/init-rates.js [--runs N]
 */
const MODELS = ['squeezenet1_1', 'mobilenet_v3_small', 'resnet18'];
const METHODS: InitMethod[] = ['torch-default', 'kaiming', 'orthogonal'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function secondsToWrite(model: ReturnType<typeof buildZooModel>, method: InitMethod): Promise<number> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const started = performance.now();
  await writeSafetensors(sink, initializationTensors(model, method, { seed: 0 }), {});
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const runs = Math.max(1, Math.round(numberOption(process.argv, 'runs', 2)));
  await selectBackend('wasm');
  const cases: Record<string, unknown>[] = [];
  for (const name of MODELS) {
    const model = buildZooModel(name);
    const parameters = model.initializers.reduce((n, i) => n + i.shape.reduce((a, b) => a * b, 1), 0);
    const qrFlops = orthogonalQrFlops(model);
    const seconds: Partial<Record<InitMethod, number>> = {};
    for (const method of METHODS) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await secondsToWrite(model, method));
      seconds[method] = median(times);
    }
    for (const method of METHODS) {
      const measured = seconds[method]!;
      const estimate = estimateInitializationSeconds({ method, parameterCount: parameters, qrFlops: method === 'orthogonal' ? qrFlops : 0, ghnParameterCount: 0 });
      cases.push({
        model: name,
        method,
        parameters,
        seconds: round(measured, 3),
        secondsPerParameter: Number((measured / parameters).toPrecision(2)),
        ...(method === 'orthogonal' ? { qrFlops, secondsPerQrFlop: Number(((measured - seconds.kaiming!) / qrFlops).toPrecision(2)) } : {}),
        estimateWithStoringSeconds: round(estimate, 2),
      });
    }
  }
  await emitReport({
    bench: 'init-rates',
    runs,
    note: 'seconds: drawing and serializing only (no worker start, no storing); estimateWithStoringSeconds adds storing at the S3 store\'s measured rate',
    ratesUsed: INITIALIZATION_RATES,
    cases,
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`init-rates: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
