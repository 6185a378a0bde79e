import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import { inflatingSource } from './inflating-source';
import { sliceSource } from './source-slice';

/** A minimal, bounds-checked reader of a zip central directory (what torch.save writes). */

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
/** Deflate cannot expand data by more than about 1032:1; larger claims are bogus. */
const MAX_DEFLATE_RATIO = 1032;
/** torch.save writes ~100 bytes per storage; this allows hundreds of thousands of storages. */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8');

function invalid(message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', `invalid zip archive: ${message}`);
}

function u64(view: DataView, at: number): number {
  const value = view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x100000000;
  if (!Number.isSafeInteger(value)) throw invalid('64-bit field out of range');
  return value;
}

async function readView(source: RandomAccessSource, offset: number, length: number): Promise<DataView> {
  if (offset < 0 || length < 0 || offset + length > source.size) throw invalid(`structure at ${offset} (+${length}) is outside the file`);
  const bytes = await source.read(offset, length);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface DirectoryLocation {
  entries: number;
  size: number;
  offset: number;
}

async function locateDirectory(source: RandomAccessSource): Promise<DirectoryLocation> {
  const tailLength = Math.min(source.size, EOCD_BYTES + 0xffff);
  if (tailLength < EOCD_BYTES) throw invalid('file too small');
  const tailStart = source.size - tailLength;
  const tail = await readView(source, tailStart, tailLength);
  let at = -1;
  for (let i = tailLength - EOCD_BYTES; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE && i + EOCD_BYTES + tail.getUint16(i + 20, true) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw invalid('end of central directory not found');
  let entries = tail.getUint16(at + 10, true);
  let size = tail.getUint32(at + 12, true);
  let offset = tail.getUint32(at + 16, true);
  if (entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locatorAt = tailStart + at - 20;
    const locator = await readView(source, locatorAt, 20);
    if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) throw invalid('zip64 locator missing');
    const record = await readView(source, u64(locator, 8), 56);
    if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw invalid('zip64 end of central directory missing');
    entries = u64(record, 32);
    size = u64(record, 40);
    offset = u64(record, 48);
  }
  if (offset + size > source.size) throw invalid('central directory is outside the file');
  if (entries * CENTRAL_BYTES > size) throw invalid('central directory too small for its entry count');
  if (size > MAX_DIRECTORY_BYTES) throw new CoreError('TORCH_UNSUPPORTED', `zip central directory of ${size} bytes is too large`);
  return { entries, size, offset };
}

/** Applies the zip64 extended-information extra field to the saturated 32-bit fields. */
function applyZip64(extra: DataView, sizes: { uncompressed: number; compressed: number; localOffset: number }): void {
  let at = 0;
  while (at + 4 <= extra.byteLength) {
    const id = extra.getUint16(at, true);
    const length = extra.getUint16(at + 2, true);
    const end = at + 4 + length;
    if (end > extra.byteLength) throw invalid('extra field overruns its header');
    if (id === 0x0001) {
      let p = at + 4;
      for (const field of ['uncompressed', 'compressed', 'localOffset'] as const) {
        if (sizes[field] !== 0xffffffff) continue;
        if (p + 8 > end) throw invalid('zip64 extra field too short');
        sizes[field] = u64(extra, p);
        p += 8;
      }
    }
    at = end;
  }
}

/** Lists the entries of the archive by name (first occurrence wins). */
export async function readZipDirectory(source: RandomAccessSource): Promise<Map<string, ZipEntry>> {
  const location = await locateDirectory(source);
  const directory = await readView(source, location.offset, location.size);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < location.entries; i++) {
    if (at + CENTRAL_BYTES > directory.byteLength || directory.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      throw invalid(`central directory entry ${i} is malformed`);
    }
    const flags = directory.getUint16(at + 8, true);
    const method = directory.getUint16(at + 10, true);
    const nameLength = directory.getUint16(at + 28, true);
    const extraLength = directory.getUint16(at + 30, true);
    const commentLength = directory.getUint16(at + 32, true);
    const next = at + CENTRAL_BYTES + nameLength + extraLength + commentLength;
    if (next > directory.byteLength) throw invalid(`central directory entry ${i} overruns the directory`);
    const nameStart = directory.byteOffset + at + CENTRAL_BYTES;
    const name = utf8.decode(new Uint8Array(directory.buffer, nameStart, nameLength));
    const sizes = {
      compressed: directory.getUint32(at + 20, true),
      uncompressed: directory.getUint32(at + 24, true),
      localOffset: directory.getUint32(at + 42, true),
    };
    applyZip64(new DataView(directory.buffer, nameStart + nameLength, extraLength), sizes);
    if (flags & 0x1) throw new CoreError('TORCH_UNSUPPORTED', `zip entry ${name} is encrypted`);
    if (!entries.has(name)) {
      entries.set(name, {
        name,
        method,
        compressedSize: sizes.compressed,
        uncompressedSize: sizes.uncompressed,
        localHeaderOffset: sizes.localOffset,
      });
    }
    at = next;
  }
  return entries;
}

/**
 * The entry's uncompressed bytes as a source: a window of the file when stored; when deflated, a
 * source that inflates on demand (nothing is inflated until read, and never past the declared size).
 */
export async function openZipEntry(source: RandomAccessSource, entry: ZipEntry): Promise<RandomAccessSource> {
  const local = await readView(source, entry.localHeaderOffset, LOCAL_BYTES);
  if (local.getUint32(0, true) !== LOCAL_SIGNATURE) throw invalid(`local header of ${entry.name} not found`);
  const dataOffset = entry.localHeaderOffset + LOCAL_BYTES + local.getUint16(26, true) + local.getUint16(28, true);
  if (dataOffset + entry.compressedSize > source.size) throw invalid(`data of ${entry.name} is outside the file`);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) throw invalid(`stored entry ${entry.name} has inconsistent sizes`);
    return sliceSource(source, dataOffset, entry.compressedSize);
  }
  if (entry.method !== 8) {
    throw new CoreError('TORCH_UNSUPPORTED', `zip entry ${entry.name} uses compression method ${entry.method}`);
  }
  if (entry.uncompressedSize > (entry.compressedSize + 1) * MAX_DEFLATE_RATIO) throw invalid(`entry ${entry.name} declares an impossible size`);
  return inflatingSource(source, { name: entry.name, dataOffset, compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize });
}
