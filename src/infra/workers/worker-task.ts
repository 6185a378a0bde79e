import { once } from 'node:events';
import { Writable } from 'node:stream';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toWireError, type WireError } from '../../core/errors';
import type { WorkerEnvelope } from './run-in-worker';

/** What a worker posts back: the task's value, or its error in a cloneable form. */
export type WorkerReply<O> =
  | { ok: true; value: O }
  | { ok: false; error: WireError };

/** What the task may use besides its input. */
export interface WorkerTaskIo {
  /** The caller's `output` as a stream (each chunk is copied across and acknowledged), or null. */
  output: Writable | null;
  /**
   * Posts an event to the caller's `onEvent` and resolves once it was handled there (rejects when
   * the caller gave no `onEvent`). Events are structured-cloned; transfer large buffers by listing
   * them in `transfer`.
   */
  emit(event: unknown, transfer?: ArrayBuffer[]): Promise<void>;
}

function portEmitter(port: MessagePort | null): WorkerTaskIo['emit'] {
  return async (event, transfer = []) => {
    if (!port) throw new Error('this task emits events: give runInWorker an onEvent');
    port.postMessage(event, transfer);
    await once(port, 'message');
  };
}

/** A Writable that hands each chunk to the calling thread and waits for its acknowledgement. */
function portWriter(port: MessagePort): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      // A copy of exactly this chunk, moved (not cloned again) to the other thread: a view would
      // clone its whole underlying buffer.
      const copy = new Uint8Array(chunk);
      port.postMessage(copy, [copy.buffer]);
      once(port, 'message').then(
        () => done(),
        (e: unknown) => done(e as Error),
      );
    },
  });
}

/** The body of a worker script: runs `task` on the worker's input and posts the reply once. */
export function serveWorkerTask<I, O>(task: (input: I, io: WorkerTaskIo) => O | Promise<O>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTask must run in a worker thread (see runInWorker)');
  const envelope = workerData as WorkerEnvelope<I>;
  void (async () => {
    let reply: WorkerReply<O>;
    try {
      const io = { output: envelope.output ? portWriter(envelope.output) : null, emit: portEmitter(envelope.events) };
      reply = { ok: true, value: await task(envelope.input, io) };
    } catch (e) {
      reply = { ok: false, error: toWireError(e) };
    }
    envelope.output?.close();
    envelope.events?.close();
    try {
      port.postMessage(reply);
    } catch {
      // Details that cannot be cloned are dropped rather than losing the error.
      port.postMessage(reply.ok ? reply : { ok: false, error: { ...reply.error, details: undefined } });
    }
  })();
}
