import { parentPort, workerData } from 'node:worker_threads';
import { toWireError, type WireError } from '../../core/errors';

/** What a worker posts back: the task's value, or its error in a cloneable form. */
export type WorkerReply<O> =
  | { ok: true; value: O }
  | { ok: false; error: WireError };

/** The body of a worker script: runs `task` on the worker's input and posts the reply once. */
export function serveWorkerTask<I, O>(task: (input: I) => O | Promise<O>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTask must run in a worker thread (see runInWorker)');
  void (async () => {
    let reply: WorkerReply<O>;
    try {
      reply = { ok: true, value: await task(workerData as I) };
    } catch (e) {
      reply = { ok: false, error: toWireError(e) };
    }
    try {
      port.postMessage(reply);
    } catch {
      // Details that cannot be cloned are dropped rather than losing the error.
      port.postMessage(reply.ok ? reply : { ok: false, error: { ...reply.error, details: undefined } });
    }
  })();
}
