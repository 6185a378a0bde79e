import { writeSafetensors } from '../../core/formats/safetensors';
import { parseGraphJson } from '../../core/graph/graph-json';
import { initializationTensors, type InitMethod } from '../../core/init';
import { selectBackend } from '../../infra/tensor-runtime/select-backend';
import { serveWorkerTask } from '../../infra/workers/worker-task';

export interface InitializationWorkerInput {
  /** Canonical graph JSON. */
  graph: unknown;
  method: InitMethod;
  seed: number;
  metadata: Record<string, string>;
}

// Worker thread: draws an initialization tensor by tensor and streams it as safetensors bytes to
// the caller's staged writer (one write), so the server's event loop never waits on the sampling or
// the QR decompositions.
serveWorkerTask(async (input: InitializationWorkerInput, io) => {
  if (!io.output) throw new Error('the initialization worker streams its result: give runInWorker an output');
  // Orthogonal's QR products run on tf: wasm (~10x the pure-JS cpu backend here), cpu if wasm fails.
  if (input.method === 'orthogonal') await selectBackend('wasm').catch(() => selectBackend('cpu'));
  const tensors = initializationTensors(parseGraphJson(input.graph), input.method, { seed: input.seed });
  return writeSafetensors(io.output, tensors, input.metadata);
});
