import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CORE_ERROR_CODES, CoreError, type CoreErrorCode } from '../../core/errors';
import { projectRoot } from '../../core/io/project-root';
import type { WorkerReply } from './worker-task';

export interface RunInWorkerOptions {
  /** The worker is terminated past this many milliseconds and the call fails with WorkerTimeoutError. */
  timeoutMs: number;
  /** V8 heap limit of the worker, so one task cannot take the server's memory. */
  maxHeapMb?: number;
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
    const worker = new Worker(script, {
      workerData: input,
      resourceLimits: options.maxHeapMb ? { maxOldGenerationSizeMb: options.maxHeapMb } : undefined,
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
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
