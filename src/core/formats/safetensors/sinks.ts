import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Where the writer puts bytes; every write resolves once the bytes may be reused or buffered. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
  /** Flushes and commits the output. */
  finish(): Promise<void>;
  /** Discards the output after a failure; never throws. */
  abort(): Promise<void>;
}

/** Small chunks are gathered up to this size so that many tiny tensors cost few syscalls. */
const STAGING_BYTES = 1 << 20;
const DIRECT_WRITE_BYTES = 64 * 1024;

/**
 * Writes to `<path>.tmp-<random>`, then fsyncs and renames it over `path`, so that readers never
 * see a partial file and a failed write leaves nothing behind.
 */
export async function openAtomicFileSink(path: string): Promise<ByteSink> {
  const tempPath = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tempPath, 'wx');
  let closed = false;
  const staging = Buffer.allocUnsafe(STAGING_BYTES);
  let staged = 0;

  async function writeFully(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done);
      done += bytesWritten;
    }
  }

  async function flush(): Promise<void> {
    if (staged === 0) return;
    await writeFully(staging.subarray(0, staged));
    staged = 0;
  }

  return {
    async write(bytes) {
      if (bytes.byteLength >= DIRECT_WRITE_BYTES) {
        // No await before the write when nothing is staged, so the caller's work overlaps it.
        if (staged > 0) await flush();
        return writeFully(bytes);
      }
      if (staged + bytes.byteLength > STAGING_BYTES) await flush();
      staging.set(bytes, staged);
      staged += bytes.byteLength;
    },
    async finish() {
      await flush();
      await handle.sync();
      closed = true;
      await handle.close();
      await rename(tempPath, path);
      await syncDirectory(dirname(path));
    },
    async abort() {
      if (!closed) {
        closed = true;
        await handle.close().catch(() => undefined);
      }
      await unlink(tempPath).catch(() => undefined);
    },
  };
}

/** Makes the rename durable where the platform allows fsync on a directory (best effort). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported everywhere (e.g. Windows); the data itself is already synced.
  }
}

interface StreamState {
  destroyed?: boolean;
  destroy?: (error?: Error) => void;
}

/**
 * Writes to a caller's stream, honouring backpressure (waits for 'drain'), and ends it on success.
 * On failure the stream is destroyed, so that a consumer never takes a cut-off file for a whole one.
 */
export function streamSink(out: NodeJS.WritableStream): ByteSink {
  const state = out as NodeJS.WritableStream & StreamState;
  let failure: unknown = null;
  // Keeps stream errors from going unhandled between writes; they are rethrown on the next call.
  const recordError = (error: unknown): void => {
    failure ??= error;
  };
  out.on('error', recordError);

  function check(): void {
    if (failure) throw failure;
    if (state.destroyed) throw new Error('output stream was destroyed before the safetensors file was written');
  }

  function waitFor(event: 'drain' | 'finish'): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        out.removeListener(event, onEvent);
        out.removeListener('error', onError);
        out.removeListener('close', onClose);
      };
      const onEvent = (): void => {
        cleanup();
        resolve();
      };
      const onError = (error: unknown): void => {
        cleanup();
        reject(error);
      };
      const onClose = (): void => {
        cleanup();
        reject(failure ?? new Error('output stream closed before the safetensors file was written'));
      };
      out.once(event, onEvent);
      out.once('error', onError);
      out.once('close', onClose);
    });
  }

  return {
    async write(bytes) {
      check();
      if (!out.write(bytes)) await waitFor('drain');
    },
    async finish() {
      check();
      const finished = waitFor('finish');
      out.end();
      await finished;
      out.removeListener('error', recordError);
    },
    async abort() {
      // recordError stays attached: a destroyed stream may still report an error late.
      if (!state.destroyed) state.destroy?.();
    },
  };
}
