import { Worker } from 'node:worker_threads';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { CoreError } from '../../core/errors';
import { bindWeight, hostTensorFromBytes, usedInitializers, type EngineOptions, type HostTensor, type InferenceEngine, type TensorBytes, type WeightLookup } from '../../core/runtime';
import { RequestWorker } from '../../core/runtime/request-worker';
import type { TensorBackendChoice } from '../../infra/config/app-config';
import { workerScript } from '../../infra/workers/run-in-worker';

/**
 * The TF.js engine in a worker thread (tfjs-engine.worker): the same engine, on the same backend
 * as the server's, with its weights and plans living in the worker. Requests are copied in and
 * the outputs transferred back.
 */
export class TfjsWorkerEngine implements InferenceEngine {
  readonly kind = 'tfjs';
  private released = false;

  private constructor(
    private readonly channel: RequestWorker,
    readonly name: string,
  ) {}

  static async create(graph: ArchitectureGraph, weights: WeightLookup, backend: TensorBackendChoice, options: EngineOptions = {}): Promise<TfjsWorkerEngine> {
    // Only the tensors the graph reads travel (bound by name or exporter alias, checked here).
    const bound: [string, TensorBytes][] = usedInitializers(graph).map((init) => [init.name, bindWeight(init, weights)]);
    const channel = new RequestWorker(new Worker(workerScript(__dirname, 'tfjs-engine.worker')), 'INFERENCE_FAILED', 'tfjs worker: ');
    try {
      const reply = await channel.request({ type: 'load', backend, graph, weights: bound, options });
      return new TfjsWorkerEngine(channel, String(reply.name));
    } catch (e) {
      await channel.terminate();
      throw e;
    }
  }

  async run(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    if (this.released) throw new CoreError('INVALID_ARGUMENT', 'the engine has been disposed');
    const reply = await this.channel.request({ type: 'run', inputs });
    // Typed arrays rebuilt in this realm over the transferred buffers (a VM context, e.g. Jest's, has its own constructors).
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(reply.outputs as Record<string, HostTensor>)) {
      out[name] = hostTensorFromBytes(t.dtype, t.shape, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    return out;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.channel
      .request({ type: 'dispose' })
      .catch(() => undefined)
      .finally(() => void this.channel.terminate());
  }
}
