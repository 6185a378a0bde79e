import { Writable } from 'node:stream';
import { writeSafetensors } from '../src/core/formats/safetensors';
import { buildZooModel } from '../src/core/graph/zoo';
import { initializationTensors, type InitMethod } from '../src/core/init';
import { selectBackend } from '../src/infra/tensor-runtime/select-backend';
import { orthogonalQrFlops } from '../src/modules/initializations/initialization-cost';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * The rates behind the initialization cost estimate (src/modules/initializations/initialization-cost.ts):
 * seconds to draw each classical initialization of a few zoo models and serialize it as
 * safetensors (into a sink that discards the bytes), as the initialization worker does, on the tf
 * wasm backend it uses for orthogonal's QR products. Per model and method: the shortest wall time
 * of N runs (the least disturbed by whatever else the machine runs; CPU seconds alongside),
 * seconds per parameter and, for orthogonal, seconds per QR floating-point operation (its time
 * less kaiming's, which draws the same Gaussian values). Prints one JSON object.
 * Usage: node dist-bench/bench/init-rates.js [--runs N]
 */
const MODELS = ['squeezenet1_1', 'mobilenet_v3_small', 'resnet18'];
const METHODS: InitMethod[] = ['torch-default', 'kaiming', 'orthogonal'];

/** CPU seconds (this process, user + system) and wall seconds of one initialization, serialized. */
async function secondsToWrite(model: ReturnType<typeof buildZooModel>, method: InitMethod): Promise<{ cpu: number; wall: number }> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await writeSafetensors(sink, initializationTensors(model, method, { seed: 0 }), {});
  const cpu = process.cpuUsage(cpuStart);
  return { cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - wallStart) / 1000 };
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
    const cpuSeconds: Partial<Record<InitMethod, number>> = {};
    for (const method of METHODS) {
      const times: { cpu: number; wall: number }[] = [];
      for (let i = 0; i < runs; i++) times.push(await secondsToWrite(model, method));
      seconds[method] = Math.min(...times.map((t) => t.wall));
      cpuSeconds[method] = Math.min(...times.map((t) => t.cpu));
    }
    for (const method of METHODS) {
      const measured = seconds[method]!;
      cases.push({
        model: name,
        method,
        parameters,
        seconds: round(measured, 3),
        cpuSeconds: round(cpuSeconds[method]!, 3),
        secondsPerParameter: Number((measured / parameters).toPrecision(2)),
        ...(method === 'orthogonal' ? { qrFlops, secondsPerQrFlop: Number(((measured - seconds.kaiming!) / qrFlops).toPrecision(2)) } : {}),
      });
    }
  }
  await emitReport({
    bench: 'init-rates',
    runs,
    note: 'seconds: shortest wall time of the runs, drawing and serializing only (no worker start, no storing); cpuSeconds: the least CPU time of the runs (this process)',
    cases,
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`init-rates: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
