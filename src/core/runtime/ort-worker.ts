import { Worker } from 'node:worker_threads';
import { RequestWorker } from './request-worker';

/** A tensor as it crosses the thread boundary (onnxruntime's type names). */
export interface WireTensor {
  type: string;
  data: ArrayBufferView & ArrayLike<number | bigint>;
  dims: number[];
}

/**
 * The worker's program, plain CommonJS evaluated in the thread (no build step needed): it owns one
 * onnxruntime-node session. onnxruntime-node runs inference synchronously on the calling thread,
 * so a worker keeps the caller's event loop free; it also gives the session a normal JS realm
 * (under Jest's VM sandbox, onnxruntime-common rejects the typed arrays its native binding makes).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      session = await ort.InferenceSession.create(typeof msg.path === 'string' ? msg.path : new Uint8Array(msg.model), msg.options);
      parentPort.postMessage({ id: msg.id });
    } else if (msg.type === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const results = await session.run(feeds);
      const outputs = {};
      for (const [name, t] of Object.entries(results)) outputs[name] = { type: t.type, data: t.data, dims: Array.from(t.dims) };
      parentPort.postMessage({ id: msg.id, outputs });
    } else if (msg.type === 'release') {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ id: msg.id });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: String((e && e.message) || e) });
  }
});
`;

/** One onnxruntime session in a worker thread, driven by request/response messages. */
export class OrtWorker {
  private readonly channel = new RequestWorker(
    new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } }),
    'INFERENCE_FAILED',
    'onnxruntime: ',
  );

  /** Loads the model (its buffer is transferred to the worker). */
  async load(model: Uint8Array, options: Record<string, unknown>): Promise<void> {
    // Small protobuf outputs are views into a shared pool (Buffer#slice would not copy either).
    const owned = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength ? model : new Uint8Array(model);
    await this.channel.request({ type: 'load', model: owned.buffer, options }, [owned.buffer as ArrayBuffer]);
  }

  /** Loads a model file (external data files are resolved next to it). */
  async loadPath(path: string, options: Record<string, unknown>): Promise<void> {
    await this.channel.request({ type: 'load', path, options });
  }

  async run(feeds: Record<string, WireTensor>): Promise<Record<string, WireTensor>> {
    const reply = await this.channel.request({ type: 'run', feeds });
    return (reply.outputs as Record<string, WireTensor> | undefined) ?? {};
  }

  /** Releases the session and stops the thread. */
  async close(): Promise<void> {
    if (!this.channel.failed) await this.channel.request({ type: 'release' }).catch(() => undefined);
    await this.channel.terminate();
  }
}
