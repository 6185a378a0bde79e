import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readImageFolderFiles, writeDataset, type ArchiveFile } from '../../core/datasets';
import { UsageError } from '../cli-io';

export interface DatasetPackOptions {
  out: string;
  /** `HxW`, e.g. `32x32`; default: the first image's size. */
  size?: string;
  channels?: 1 | 3;
}

export interface DatasetPackSummary {
  out: string;
  shape: number[];
  classCount: number;
  classNames: readonly string[];
  bytes: number;
  sha256: string;
}

/** The most files the walk lists (images plus skipped files) before refusing. */
const MAX_WALKED_FILES = 1_000_000;

/**
 * The regular files under `root`, named by their path relative to it with `/` separators, as an
 * archive lists them. Symbolic links are not followed (a link is skipped).
 */
export async function listDirectoryFiles(root: string): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(path, name);
      } else if (entry.isFile()) {
        if (files.length >= MAX_WALKED_FILES) throw new UsageError(`${root} holds more than ${MAX_WALKED_FILES} files`);
        const { size } = await lstat(path);
        files.push({ name, size, read: async () => new Uint8Array(await readFile(path)) });
      }
    }
  };
  await walk(root, '');
  return files;
}

export function parseSize(size: string): { height: number; width: number } {
  const match = /^(\d+)x(\d+)$/i.exec(size);
  if (!match) throw new UsageError(`--size must be HxW, e.g. 32x32, got ${JSON.stringify(size)}`);
  return { height: Number(match[1]), width: Number(match[2]) };
}

/**
 * `weightsmith dataset pack DIR`: an image folder on disk (one subfolder per class, PNG or JPEG
 * images) → a dataset file (uint8 inputs N×C×H×W, int64 labels, class names), decoded exactly as
 * an uploaded archive of the same folder. Written atomically.
 */
export async function runDatasetPack(dir: string, options: DatasetPackOptions, resolvePath: (p: string) => string): Promise<DatasetPackSummary> {
  const root = resolvePath(dir);
  const stat = await lstat(root).catch(() => null);
  if (!stat?.isDirectory()) throw new UsageError(`${root} is not a directory`);
  const size = options.size === undefined ? {} : parseSize(options.size);
  const dataset = await readImageFolderFiles(await listDirectoryFiles(root), { ...size, channels: options.channels });
  const out = resolvePath(options.out);
  const written = await writeDataset(out, dataset);
  return { out, shape: [...dataset.shape], classCount: dataset.classCount, classNames: dataset.classNames ?? [], bytes: written.bytesWritten, sha256: written.sha256 };
}
