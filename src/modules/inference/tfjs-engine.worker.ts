import { parentPort } from 'node:worker_threads';
import { toWireError } from '../../core/errors';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { createEngine, type EngineOptions, type HostTensor, type InferenceEngine, type TensorBytes } from '../../core/runtime';
import type { TensorBackendChoice } from '../../infra/config/app-config';
import { selectBackend } from '../../infra/tensor-runtime/select-backend';

/**
 * The TF.js engine of one deployment, in its own worker thread (TfjsWorkerEngine): `load` selects
 * the server's backend here and builds the engine, `run` executes a batch, `dispose` frees it.
 * Inference then never blocks the server's event loop (wasm and cpu compute synchronously).
 */
type Message =
  | { id: number; type: 'load'; backend: TensorBackendChoice; graph: ArchitectureGraph; weights: [string, TensorBytes][]; options: EngineOptions }
  | { id: number; type: 'run'; inputs: Record<string, HostTensor> }
  | { id: number; type: 'dispose' };

const port = parentPort;
if (!port) throw new Error('tfjs-engine.worker must run in a worker thread (see TfjsWorkerEngine)');
let engine: InferenceEngine | null = null;

port.on('message', (msg: Message) => {
  void (async () => {
    try {
      if (msg.type === 'load') {
        await selectBackend(msg.backend);
        engine = await createEngine('tfjs', msg.graph, new Map(msg.weights), msg.options);
        port.postMessage({ id: msg.id, name: engine.name });
      } else if (msg.type === 'run') {
        if (!engine) throw new Error('no model is loaded');
        const outputs = await engine.run(msg.inputs);
        const transfer = Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer);
        port.postMessage({ id: msg.id, outputs }, transfer);
      } else {
        engine?.dispose();
        engine = null;
        port.postMessage({ id: msg.id });
      }
    } catch (e) {
      port.postMessage({ id: msg.id, error: toWireError(e) });
    }
  })();
});
