import type { Worker } from 'node:worker_threads';
import { CORE_ERROR_CODES, CoreError, type CoreErrorCode, type WireError } from '../errors';

/** What a request worker posts back: `id` of the request, then its fields or an error. */
export interface WorkerResponse {
  id: number;
  error?: WireError | string;
  [field: string]: unknown;
}

/** An error thrown in a worker, rebuilt: a CoreError where it carried a core code. */
export function errorFromWorker(error: WireError | string, fallback: CoreErrorCode, prefix = ''): Error {
  const e: WireError = typeof error === 'string' ? { name: 'Error', message: error } : error;
  if (e.code !== undefined && (CORE_ERROR_CODES as readonly string[]).includes(e.code)) return new CoreError(e.code as CoreErrorCode, e.message, e.details);
  return new CoreError(fallback, `${prefix}${e.message}`);
}

/**
 * Request/response messages to a long-lived worker thread: each request gets an id, the worker
 * answers it once. The worker is unref'd while idle (it never keeps the process alive); if it dies,
 * every waiting and later request fails with `fallback`.
 */
export class RequestWorker {
  private readonly pending = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly fallback: CoreErrorCode,
    private readonly prefix: string,
  ) {
    this.worker.unref();
    this.worker.on('message', (reply: WorkerResponse) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.error !== undefined) waiter.reject(errorFromWorker(reply.error, fallback, prefix));
      else waiter.resolve(reply);
    });
    const fail = (e: Error): void => {
      this.failure = new CoreError(fallback, `${prefix}the worker stopped: ${e.message}`);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
