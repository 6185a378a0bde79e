import { parentPort, workerData } from 'node:worker_threads';
import { isCoreError } from '../../core/errors';

/** What a worker posts back: the task's value, or its error in a cloneable form. */
export type WorkerReply<O> =
  | { ok: true; value: O }
  | { ok: false; error: { name: string; message: string; code?: string; details?: Record<string, unknown> } };

/** The body of a worker script: runs `task` on the worker's input and posts the reply once. */
export function serveWorkerTask<I, O>(task: (input: I) => O | Promise<O>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTask must run in a worker thread (see runInWorker)');
  void (async () => {
    let reply: WorkerReply<O>;
    try {
      reply = { ok: true, value: await task(workerData as I) };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      reply = {
        ok: false,
        error: isCoreError(e)
          ? { name: error.name, message: error.message, code: e.code, details: e.details }
          : { name: error.name, message: error.message },
      };
    }
    try {
      port.postMessage(reply);
    } catch {
      // Details that cannot be cloned are dropped rather than losing the error.
      port.postMessage(reply.ok ? reply : { ok: false, error: { ...reply.error, details: undefined } });
    }
  })();
}
