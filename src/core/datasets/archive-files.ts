import { gunzipSync } from 'node:zlib';
import { CoreError, isCoreError } from '../errors';
import { openZipEntry, readZipDirectory } from '../formats/torch/zip-archive';
import { bufferSource, type RandomAccessSource } from '../io/random-access';

/** A regular file of an archive: its path, its declared size, and its bytes on demand. */
export interface ArchiveFile {
  readonly name: string;
  readonly size: number;
  read(): Promise<Uint8Array>;
}

export function archiveError(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('DATASET_ARCHIVE_INVALID', message, details);
}

/** The zip reader's own failures become this module's code; other errors pass through. */
async function asArchiveError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (isCoreError(e) && e.code.startsWith('TORCH_')) throw archiveError(e.message.replace('invalid zip archive: ', 'not a valid zip archive: '));
    throw e;
  }
}

async function zipFiles(source: RandomAccessSource): Promise<ArchiveFile[]> {
  const entries = await asArchiveError(readZipDirectory(source));
  return [...entries.values()]
    .filter((e) => !e.name.endsWith('/'))
    .map((entry) => ({
      name: entry.name,
      size: entry.uncompressedSize,
      read: () => asArchiveError(openZipEntry(source, entry).then((file) => file.read(0, file.size))),
    }));
}

const BLOCK = 512;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.byteLength : bytes.indexOf(0)));

function octal(field: Uint8Array, what: string): number {
  const value = text(field).trim();
  if (!/^[0-7]*$/.test(value)) throw archiveError(`not a valid tar archive: ${what} is not an octal number`);
  return value === '' ? 0 : parseInt(value, 8);
}

/** The `path` record of a pax extended header, if any. */
function paxPath(bytes: Uint8Array): string | undefined {
  const records = new TextDecoder().decode(bytes);
  for (const line of records.split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * Lists a ustar/pax/GNU tar archive's regular files (pax `path` and GNU long names honoured; links,
 * devices and directories skipped). Every header checksum is verified; at most `maxFiles` files.
 */
async function tarFiles(source: RandomAccessSource, maxFiles: number): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= source.size; ) {
    const header = await source.read(at, BLOCK);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    if (sum !== octal(header.subarray(148, 156), 'a header checksum')) throw archiveError(`not a valid tar archive: bad header checksum at byte ${at}`);
    const size = octal(header.subarray(124, 136), 'a file size');
    const dataAt = at + BLOCK;
    if (dataAt + size > source.size) throw archiveError(`not a valid tar archive: the entry at byte ${at} runs past the end`);
    const type = String.fromCharCode(header[156]);
    const prefix = text(header.subarray(257, 263)).startsWith('ustar') ? text(header.subarray(345, 500)) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100)));
    longName = undefined;
    if (type === 'L' || type === 'x') {
      const body = await source.read(dataAt, Math.min(size, 64 * 1024));
      longName = type === 'L' ? text(body) : paxPath(body);
    } else if (type === '0' || type === '\0' || type === '7') {
      if (files.length >= maxFiles) throw new CoreError('DATASET_TOO_LARGE', `the archive holds more than ${maxFiles} files`, { maxFiles });
      files.push({ name, size, read: () => source.read(dataAt, size) });
    }
    at = dataAt + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

export interface ArchiveLimits {
  /** Most files listed (tar) before refusing. */
  readonly maxFiles: number;
  /** Largest gunzipped tar accepted: inflation stops there. */
  readonly maxUnzippedBytes: number;
}

/**
 * The regular files of a zip, tar or gzip-compressed tar archive (told apart by their first bytes;
 * a gzip stream is inflated in memory, never past `maxUnzippedBytes`).
 */
export async function listArchiveFiles(source: RandomAccessSource, limits: ArchiveLimits): Promise<ArchiveFile[]> {
  const head = await source.read(0, Math.min(source.size, 263));
  if (head[0] === 0x1f && head[1] === 0x8b) {
    let tar: Buffer;
    try {
      tar = gunzipSync(await source.read(0, source.size), { maxOutputLength: limits.maxUnzippedBytes });
    } catch (e) {
      const tooLarge = (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
      const reason = tooLarge ? `it inflates past ${limits.maxUnzippedBytes} bytes` : 'corrupt gzip data';
      throw archiveError(`not a valid .tar.gz archive: ${reason}`);
    }
    return tarFiles(bufferSource(tar), limits.maxFiles);
  }
  if (head.byteLength >= 263 && text(head.subarray(257, 263)).startsWith('ustar')) return tarFiles(source, limits.maxFiles);
  return zipFiles(source);
}
