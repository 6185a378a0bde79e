import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CORE_ERROR_CODES, CoreError, type CoreErrorCode } from '../../core/errors';
import { projectRoot } from '../../core/io/project-root';
import type { WorkerReply } from './worker-task';

export interface RunInWorkerOptions {
  /** The worker is terminated past this many milliseconds and the call fails with WorkerTimeoutError. */
  timeoutMs: number;
  /** V8 heap limit of the worker, so one task cannot take the server's memory. */
  maxHeapMb?: number;
  /** Bytes the task streams out (`io.output` in the worker) are written here, with backpressure; it is not ended. */
  output?: Writable;
  /** Aborting terminates the worker and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Receives each event the task emits (`io.emit` in the worker), one at a time: the task waits
   * until the returned promise settles, so an event handled (e.g. a state stored) is never lost
   * behind work that follows it. A handler that throws fails the call.
   */
  onEvent?: (event: unknown) => Promise<void>;
}

/** What a worker script receives as workerData (see serveWorkerTask). */
export interface WorkerEnvelope<I> {
  input: I;
  /** Set when the caller gave an `output`: one message per chunk, each acknowledged. */
  output: MessagePort | null;
  /** Set when the caller gave `onEvent`: one message per event, each acknowledged once handled. */
  events: MessagePort | null;
}

/** Hands each event the worker posts to `onEvent`, acknowledging it once handled. */
function pumpEvents(port: MessagePort, onEvent: (event: unknown) => Promise<void>, fail: (e: Error) => void): void {
  port.on('message', (event: unknown) => {
    onEvent(event).then(
      () => port.postMessage('ack'),
      (e: unknown) => fail(e as Error),
    );
  });
}

/** Writes each chunk the worker posts to `output`, acknowledging it once `output` accepts more. */
function pumpOutput(port: MessagePort, output: Writable, fail: (e: Error) => void): void {
  port.on('message', (chunk: Uint8Array) => {
    void (async () => {
      if (!output.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) await once(output, 'drain');
      port.postMessage('ack');
    })().catch((e: unknown) => fail(e as Error));
  });
}

export class WorkerTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the worker did not finish within ${timeoutMs} ms`);
    this.name = 'WorkerTimeoutError';
  }
}

/**
 * The compiled worker script `<dir>/<basename>.js`. Sources run as `.ts` under ts-jest, where a
 * worker thread cannot load them: the file built by `npm run build` under dist/ is used instead.
 */
export function workerScript(dir: string, basename: string): string {
  const sibling = join(dir, `${basename}.js`);
  if (existsSync(sibling)) return sibling;
  const root = projectRoot();
  const built = join(root, 'dist', relative(root, dir), `${basename}.js`);
  if (existsSync(built)) return built;
  throw new Error(`worker script ${basename}.js is missing next to ${dir} and under dist/: run \`npm run build\``);
}

/**
 * Runs one task in a fresh worker thread (a module that calls `serveWorkerTask`), so that slow,
 * synchronous work (a Graphviz layout, a large parse) never stalls the event loop, and a task that
 * runs away can be killed. Errors thrown in the worker come back as CoreError when they carry a
 * core code, as plain Error otherwise.
 */
export function runInWorker<I, O>(script: string, input: I, options: RunInWorkerOptions): Promise<O> {
  return new Promise<O>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    const channel = options.output ? new MessageChannel() : null;
    const events = options.onEvent ? new MessageChannel() : null;
    const envelope: WorkerEnvelope<I> = { input, output: channel?.port2 ?? null, events: events?.port2 ?? null };
    const worker = new Worker(script, {
      workerData: envelope,
      transferList: [...(channel ? [channel.port2] : []), ...(events ? [events.port2] : [])],
      resourceLimits: options.maxHeapMb ? { maxOldGenerationSizeMb: options.maxHeapMb } : undefined,
    });
    let settled = false;
    const onAbort = (): void => finish(() => reject(options.signal?.reason));
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      channel?.port1.close();
      events?.port1.close();
      fn();
      void worker.terminate();
    };
    options.signal?.addEventListener('abort', onAbort);
    if (channel && options.output) pumpOutput(channel.port1, options.output, (e) => finish(() => reject(e)));
    if (events && options.onEvent) pumpEvents(events.port1, options.onEvent, (e) => finish(() => reject(e)));
    const timer = setTimeout(() => finish(() => reject(new WorkerTimeoutError(options.timeoutMs))), options.timeoutMs);
    worker.once('message', (reply: WorkerReply<O>) =>
      finish(() => (reply.ok ? resolve(reply.value) : reject(toError(reply.error)))),
    );
    worker.once('error', (e) => finish(() => reject(e)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the worker exited with code ${code} before answering`))));
  });
}

function toError(e: { name: string; message: string; code?: string; details?: Record<string, unknown> }): Error {
  if (e.code !== undefined && (CORE_ERROR_CODES as readonly string[]).includes(e.code)) {
    return new CoreError(e.code as CoreErrorCode, e.message, e.details);
  }
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}
