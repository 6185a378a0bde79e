import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobTooLargeError,
  isSha256,
  type BlobStore,
  type ByteRange,
  type StagedBlob,
  type StageOptions,
} from '../../core/storage/blob-store.port';

const TEMP_PREFIX = 'upload-';

/**
 * Filesystem blob store: `<root>/sha256/ab/cd/<hash>`. Temporary files live in `<root>/tmp` on the
 * same filesystem so that publishing is a rename; file and directory are fsynced first.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.tmpDir = join(this.root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  tempPath(suffix = ''): string {
    return join(this.tmpDir, `${TEMP_PREFIX}${Date.now()}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  async stage(source: Readable | AsyncIterable<Uint8Array>, options: StageOptions = {}): Promise<StagedBlob> {
    const path = this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const limit = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) return done(new BlobTooLargeError(limit));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const out = createWriteStream(path, { flags: 'wx' });
    try {
      await pipeline(source, meter, out);
      await fsyncFile(path);
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { path, size, sha256: hash.digest('hex') };
  }

  async adopt(path: string, digest?: { sha256: string; size: number }): Promise<StagedBlob> {
    this.assertTemp(path);
    if (digest) {
      const { size } = await stat(path);
      if (size !== digest.size || !isSha256(digest.sha256)) throw new Error(`adopt: ${path} does not match the digest its writer reported`);
      await fsyncFile(path);
      return { path, size, sha256: digest.sha256 };
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    await fsyncFile(path);
    return { path, size, sha256: hash.digest('hex') };
  }

  async commit(staged: StagedBlob): Promise<{ sha256: string; size: number; existed: boolean }> {
    this.assertTemp(staged.path);
    const target = this.localPath(staged.sha256);
    if (await fileExists(target)) {
      await rm(staged.path, { force: true });
      return { sha256: staged.sha256, size: staged.size, existed: true };
    }
    await mkdir(dirname(target), { recursive: true });
    await rename(staged.path, target);
    await fsyncDir(dirname(target));
    return { sha256: staged.sha256, size: staged.size, existed: false };
  }

  async discard(staged: StagedBlob | string): Promise<void> {
    const path = typeof staged === 'string' ? staged : staged.path;
    this.assertTemp(path);
    await rm(path, { force: true });
  }

  async exists(sha256: string): Promise<boolean> {
    return fileExists(this.localPath(sha256));
  }

  async size(sha256: string): Promise<number> {
    return (await stat(this.localPath(sha256))).size;
  }

  read(sha256: string, range?: ByteRange): Readable {
    return createReadStream(this.localPath(sha256), range ? { start: range.start, end: range.end } : {});
  }

  localPath(sha256: string): string {
    if (!isSha256(sha256)) throw new Error(`not a sha256 digest: ${sha256}`);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.localPath(sha256), { force: true });
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

  async cleanTemporary(): Promise<number> {
    let removed = 0;
    for (const name of await safeReaddir(this.tmpDir)) {
      // Folders too: onnxruntime's external-data folders are made here (see DeploymentsService).
      if (await rm(join(this.tmpDir, name), { recursive: true, force: true }).then(() => true, () => false)) removed++;
    }
    return removed;
  }

  async check(): Promise<void> {
    await access(this.tmpDir);
    const probe = this.tempPath('.probe');
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  }

  private assertTemp(path: string): void {
    const resolved = resolve(path);
    if (!resolved.startsWith(this.tmpDir + sep)) throw new Error(`refusing to touch ${path}: not a temporary blob`);
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
