import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileSource, type RandomAccessSource } from '../../core/io/random-access';
import { BlobTooLargeError, type StagedBlob, type StagedWriter, type StageOptions } from '../../core/storage/blob-store.port';
import { emptyFolder } from '../scratch/scratch-space';

const PREFIX = 'staged-';

/** Staged bytes in a local file; the path stays inside the storage adapters. */
export class LocalStagedBlob implements StagedBlob {
  constructor(
    readonly sha256: string,
    readonly size: number,
    readonly path: string,
  ) {}
}

/** A Transform that hashes and counts what passes, failing past `limit` bytes. */
function meter(limit: number): { transform: Transform; digest(): { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit) return done(new BlobTooLargeError(limit));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, digest: () => ({ sha256: hash.digest('hex'), size }) };
}

/**
 * The staging area both blob stores share: files in one folder, written while hashed, fsynced
 * before they count as staged. The filesystem store publishes them by rename (the folder lies on
 * the blobs' filesystem); the S3 store uploads them. Anything in the folder at start is a leftover.
 */
export class LocalStaging {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  private newPath(): string {
    return join(this.dir, `${PREFIX}${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  async stage(source: Readable | AsyncIterable<Uint8Array>, options: StageOptions = {}): Promise<LocalStagedBlob> {
    const path = this.newPath();
    const m = meter(options.maxBytes ?? Number.POSITIVE_INFINITY);
    try {
      await pipeline(source, m.transform, createWriteStream(path, { flags: 'wx' }));
      await fsyncFile(path);
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    const { sha256, size } = m.digest();
    return new LocalStagedBlob(sha256, size, path);
  }

  createWriter(options: StageOptions = {}): StagedWriter {
    const path = this.newPath();
    const m = meter(options.maxBytes ?? Number.POSITIVE_INFINITY);
    const file = createWriteStream(path, { flags: 'wx' });
    const done = pipeline(m.transform, file);
    done.catch(() => undefined); // observed by finish(); an aborted writer's failure is expected
    return {
      stream: m.transform,
      finish: async () => {
        try {
          if (!m.transform.writableEnded) m.transform.end();
          await done;
          await fsyncFile(path);
        } catch (e) {
          await rm(path, { force: true });
          throw e;
        }
        const { sha256, size } = m.digest();
        return new LocalStagedBlob(sha256, size, path);
      },
      abort: async () => {
        m.transform.destroy();
        await done.catch(() => undefined);
        await rm(path, { force: true });
      },
    };
  }

  /** The file behind a staged blob of this area (refuses anything else). */
  pathOf(staged: StagedBlob): string {
    if (!(staged instanceof LocalStagedBlob)) throw new Error('not a blob staged by this store');
    const path = resolve(staged.path);
    if (!path.startsWith(this.dir + sep)) throw new Error(`refusing to touch ${staged.path}: not a staged blob`);
    return path;
  }

  async openStaged(staged: StagedBlob): Promise<RandomAccessSource> {
    return fileSource(this.pathOf(staged));
  }

  async discard(staged: StagedBlob): Promise<void> {
    await rm(this.pathOf(staged), { force: true });
  }

  /** Removes everything in the staging folder (files and folders); returns how many. */
  sweep(): Promise<number> {
    return emptyFolder(this.dir);
  }

  /** Creates and removes a file: the area is writable. */
  async check(): Promise<void> {
    const probe = `${this.newPath()}.probe`;
    await (await open(probe, 'wx')).close();
    await rm(probe);
  }
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The staging half of a blob store that stages in a local folder (both adapters do). */
export abstract class LocallyStagedStore {
  protected readonly staging: LocalStaging;

  protected constructor(stagingDir: string) {
    this.staging = new LocalStaging(stagingDir);
  }

  stage(source: Readable | AsyncIterable<Uint8Array>, options?: StageOptions): Promise<StagedBlob> {
    return this.staging.stage(source, options);
  }

  createStagedWriter(options?: StageOptions): StagedWriter {
    return this.staging.createWriter(options);
  }

  openStaged(staged: StagedBlob): Promise<RandomAccessSource> {
    return this.staging.openStaged(staged);
  }

  discard(staged: StagedBlob): Promise<void> {
    return this.staging.discard(staged);
  }
}
