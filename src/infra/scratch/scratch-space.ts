import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobTooLargeError } from '../../core/storage/blob-store.port';

/** A file spooled into the scratch space. */
export interface SpooledFile {
  path: string;
  size: number;
}

/**
 * Local temporary files that are not weights to publish: an uploaded graph file read once,
 * onnxruntime's external-data folders. They live under `<dataDir>/tmp` (not the OS's /tmp, which
 * may be small), and whatever a crash leaves there is removed at the next start.
 */
export class ScratchSpace {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Streams `source` into a scratch file, failing with BlobTooLargeError past `maxBytes`. */
  async spool(source: Readable, maxBytes: number): Promise<SpooledFile> {
    const path = join(this.dir, `spool-${Date.now()}-${randomBytes(8).toString('hex')}`);
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(size > maxBytes ? new BlobTooLargeError(maxBytes) : null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(path, { flags: 'wx' }));
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { path, size };
  }

  /** Removes a file or folder of the scratch space (refuses paths outside it). */
  async remove(path: string): Promise<void> {
    const resolved = resolve(path);
    if (!resolved.startsWith(this.dir + sep)) throw new Error(`refusing to remove ${path}: not in the scratch space`);
    await rm(resolved, { recursive: true, force: true });
  }

  /** Removes what a crashed process left; returns how many entries. */
  sweep(): Promise<number> {
    return emptyFolder(this.dir);
  }
}

/** Removes every file and folder inside `dir` (a missing folder is empty); returns how many. */
export async function emptyFolder(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (await rm(join(dir, name), { recursive: true, force: true }).then(() => true, () => false)) removed++;
  }
  return removed;
}
