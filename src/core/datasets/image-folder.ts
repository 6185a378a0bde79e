import { CoreError } from '../errors';
import type { RandomAccessSource } from '../io/random-access';
import { archiveError, listArchiveFiles, type ArchiveFile } from './archive-files';
import { DEFAULT_DATASET_LIMITS, type Dataset } from './dataset';
import { resizeBilinearInto, toChannels } from './image-resize';
import { decodeJpeg } from './jpeg-decode';
import { decodePng } from './png-decode';

export interface ImageFolderOptions {
  /** Output size every image is resized to (bilinear); default (both unset): the first image's size. */
  height?: number;
  width?: number;
  /** 1 (gray) or 3 (RGB); default: the first image's (others are converted to it). */
  channels?: 1 | 3;
  /** Most images accepted (default 200,000). */
  maxImages?: number;
  /** Largest decoded image, width × height (default 4096²). */
  maxPixels?: number;
  /** Largest single file once uncompressed (default 64 MiB). */
  maxFileBytes?: number;
  /** Largest output inputs tensor in bytes (default: the dataset limit, 2 GiB). */
  maxInputBytes?: number;
  /** Largest tar inside a .tar.gz once inflated (default 2 GiB). */
  maxUnzippedBytes?: number;
}

interface ImageFile {
  entry: ArchiveFile;
  className: string;
  fileName: string;
}

/** Metadata and hidden files that archivers add and a reader should pass over. */
function ignored(parts: string[]): boolean {
  return parts.some((p) => p.startsWith('.') || p === '__MACOSX') || parts[parts.length - 1] === 'Thumbs.db';
}

/** Lists the images as class/file: one optional top-level folder around the class folders is allowed. */
function listImages(entries: readonly ArchiveFile[]): ImageFile[] {
  const files = entries.map((entry) => ({ entry, parts: entry.name.split('/').filter((p) => p !== '' && p !== '.') }));
  const kept = files.filter((f) => !ignored(f.parts));
  const tops = new Set(kept.map((f) => f.parts[0]));
  const strip = tops.size === 1 && kept.every((f) => f.parts.length === 3) ? 1 : 0;
  return kept.map(({ entry, parts }) => {
    const rest = parts.slice(strip);
    if (rest.length !== 2) {
      throw archiveError(`"${entry.name.slice(0, 200)}" is not an image inside a class folder (expected CLASS/IMAGE, optionally inside one top folder)`, { file: entry.name.slice(0, 200) });
    }
    return { entry, className: rest[0], fileName: rest[1] };
  });
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkSize(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be an integer in [1, ${max}], got ${value}`, { [name]: value });
  }
}

function decode(bytes: Uint8Array, file: ImageFile, maxPixels: number) {
  const lower = file.fileName.toLowerCase();
  const what = `${file.className}/${file.fileName}`.slice(0, 200);
  if (lower.endsWith('.png')) return decodePng(bytes, what, { maxPixels });
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) return decodeJpeg(bytes, what, { maxPixels });
  throw archiveError(`${what}: not an image (PNG or JPEG expected, by file extension)`, { file: what });
}

/**
 * Reads a zip, tar or .tar.gz archive of an image folder, one subfolder per class (CLASS/IMAGE.png,
 * optionally all inside one top folder; hidden files and __MACOSX are skipped), into a uint8
 * dataset: each image decoded, converted to `channels` and resized to height × width. Classes are the folder names
 * sorted by code point (label = position); examples are ordered by class, then by file name.
 * Guards: the image count and each file's declared size are checked before any image is read,
 * each image's pixel count before it is inflated, the output size before it is allocated;
 * deflated entries never inflate past their declared size. Errors: DATASET_ARCHIVE_INVALID (corrupt archive, files outside class folders, non-images),
 * DATASET_IMAGE_INVALID (corrupt image), UNSUPPORTED_FORMAT (progressive JPEG, interlaced PNG),
 * DATASET_EMPTY, DATASET_TOO_LARGE.
 */
export async function readImageFolderArchive(source: RandomAccessSource, opts: ImageFolderOptions): Promise<Dataset> {
  const maxImages = opts.maxImages ?? 200_000;
  // A tar is listed in one pass: room for hidden and metadata files next to the images.
  const archive = await listArchiveFiles(source, { maxFiles: maxImages * 2 + 1000, maxUnzippedBytes: opts.maxUnzippedBytes ?? DEFAULT_DATASET_LIMITS.maxInputBytes });
  return readImageFolderFiles(archive, opts);
}

/**
 * The same decoding from a list of files named CLASS/IMAGE (optionally inside one top folder),
 * wherever they come from (an archive, a directory walk).
 */
export async function readImageFolderFiles(entries: readonly ArchiveFile[], opts: ImageFolderOptions): Promise<Dataset> {
  const limits = DEFAULT_DATASET_LIMITS;
  if ((opts.height === undefined) !== (opts.width === undefined)) throw new CoreError('INVALID_ARGUMENT', 'give both height and width, or neither');
  if (opts.height !== undefined) checkSize('height', opts.height, limits.maxSide);
  if (opts.width !== undefined) checkSize('width', opts.width, limits.maxSide);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new CoreError('INVALID_ARGUMENT', `channels must be 1 or 3, got ${String(opts.channels)}`, { channels: opts.channels });
  }
  const maxImages = opts.maxImages ?? 200_000;
  const maxPixels = opts.maxPixels ?? 4096 * 4096;
  const maxFileBytes = opts.maxFileBytes ?? 64 * 1024 * 1024;
  const maxInputBytes = opts.maxInputBytes ?? limits.maxInputBytes;
  const files = listImages(entries);
  if (files.length === 0) throw new CoreError('DATASET_EMPTY', 'the archive holds no images');
  if (files.length > maxImages) throw new CoreError('DATASET_TOO_LARGE', `the archive holds ${files.length} files, over the limit of ${maxImages}`, { files: files.length, maxImages });
  const classNames = [...new Set(files.map((f) => f.className))].sort(byCodePoint);
  if (classNames.length > limits.maxClasses) throw archiveError(`${classNames.length} class folders, over the limit of ${limits.maxClasses}`);
  files.sort((a, b) => byCodePoint(a.className, b.className) || byCodePoint(a.fileName, b.fileName));
  for (const f of files) {
    if (f.entry.size > maxFileBytes) {
      throw new CoreError('DATASET_TOO_LARGE', `${f.entry.name.slice(0, 200)} takes ${f.entry.size} bytes, over the limit of ${maxFileBytes} per file`, { maxFileBytes });
    }
  }
  const labelOf = new Map(classNames.map((name, label) => [name, label]));
  let height = opts.height;
  let width = opts.width;
  let channels = opts.channels;
  let inputs: Uint8Array | null = null;
  const labels = new Int32Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const bytes = await file.entry.read();
    const image = decode(bytes, file, maxPixels);
    channels ??= image.channels;
    height ??= image.height;
    width ??= image.width;
    const plane = height * (width as number);
    if (!inputs) {
      const total = files.length * channels * plane;
      if (total > maxInputBytes) throw new CoreError('DATASET_TOO_LARGE', `the dataset would take ${total} bytes, over the limit of ${maxInputBytes}`, { inputBytes: total, maxInputBytes });
      inputs = new Uint8Array(total);
    }
    resizeBilinearInto(toChannels(image, channels), height, width as number, inputs, i * channels * plane);
    labels[i] = labelOf.get(file.className) as number;
  }
  return { shape: [files.length, channels as number, height as number, width as number], inputs: inputs as Uint8Array, labels, classCount: classNames.length, classNames };
}
