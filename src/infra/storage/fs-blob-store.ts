import { createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileSource, type RandomAccessSource } from '../../core/io/random-access';
import { assertSha256, BlobNotFoundError, isSha256, type BlobStore, type ByteRange, type CommitResult, type StagedBlob } from '../../core/storage/blob-store.port';
import { LocallyStagedStore } from './local-staging';

/**
 * Filesystem blob store: `<root>/sha256/ab/cd/<hash>`. Staged files live in `<root>/tmp` on the
 * same filesystem, so that publishing is a rename; the file is fsynced before and its folder after.
 */
export class FsBlobStore extends LocallyStagedStore implements BlobStore {
  readonly kind = 'fs';
  private readonly root: string;

  constructor(root: string) {
    super(join(resolve(root), 'tmp'));
    this.root = resolve(root);
  }

  async init(): Promise<void> {
    await this.staging.init();
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  async commit(staged: StagedBlob): Promise<CommitResult> {
    const from = this.staging.pathOf(staged);
    const target = this.pathOf(staged.sha256);
    if (await fileExists(target)) {
      await rm(from, { force: true });
      return { sha256: staged.sha256, size: staged.size, existed: true };
    }
    await mkdir(dirname(target), { recursive: true });
    await rename(from, target);
    await fsyncDir(dirname(target));
    return { sha256: staged.sha256, size: staged.size, existed: false };
  }

  async exists(sha256: string): Promise<boolean> {
    return fileExists(this.pathOf(sha256));
  }

  async size(sha256: string): Promise<number> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (e) {
      throw notFound(e, sha256);
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(sha256);
    // Opened before the stream is returned, so that a missing blob rejects here, not mid-response.
    const handle = await open(path, 'r').catch((e: unknown) => {
      throw notFound(e, sha256);
    });
    return createReadStream(path, { fd: handle, autoClose: true, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async openRandomAccess(sha256: string): Promise<RandomAccessSource> {
    return fileSource(this.pathOf(sha256)).catch((e: unknown) => {
      throw notFound(e, sha256);
    });
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async *list(): AsyncIterable<string> {
    const base = join(this.root, 'sha256');
    for (const a of await safeReaddir(base)) {
      for (const b of await safeReaddir(join(base, a))) {
        for (const name of await safeReaddir(join(base, a, b))) {
          if (isSha256(name)) yield name;
        }
      }
    }
  }

  cleanTemporary(): Promise<number> {
    return this.staging.sweep();
  }

  async check(): Promise<void> {
    await access(join(this.root, 'sha256'));
    await this.staging.check();
  }

  private pathOf(sha256: string): string {
    assertSha256(sha256);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}

function notFound(e: unknown, sha256: string): Error {
  return (e as NodeJS.ErrnoException).code === 'ENOENT' ? new BlobNotFoundError(sha256) : (e as Error);
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await fh.close();
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function safeReaddir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}
