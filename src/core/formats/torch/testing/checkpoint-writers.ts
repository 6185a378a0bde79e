import { deflateRawSync } from 'node:zlib';
import { call, dict, global, persistent, pyBytes, tuple, writePickle, type PickleValue, type PickleWriteOptions } from './pickle-writer';

/** Test builders for the three checkpoint layouts, mirroring what torch.save / joblib write. */

export const STORAGE_TYPES = {
  F32: 'FloatStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  F64: 'DoubleStorage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
} as const;

export interface StorageSpec {
  readonly key: string;
  readonly type: string;
  readonly numel: number;
  /** Legacy only: (view key, element offset, view size) of a storage view. */
  readonly view?: readonly [string, number, number];
}

export function storageId(storage: StorageSpec, layout: 'zip' | 'legacy'): PickleValue {
  const head = ['storage', global('torch', storage.type), storage.key, 'cpu', storage.numel] as PickleValue[];
  if (layout === 'zip') return tuple(...head);
  return tuple(...head, storage.view ? tuple(...storage.view) : null);
}

export function tensorValue(storageRef: PickleValue, offset: number, shape: number[], stride: number[]): PickleValue {
  return call(
    global('torch._utils', '_rebuild_tensor_v2'),
    storageRef,
    offset,
    tuple(...shape),
    tuple(...stride),
    false,
    call(global('collections', 'OrderedDict')),
  );
}

export function contiguousStride(shape: number[]): number[] {
  const stride = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
  return stride;
}

const u16 = (n: number) => [n & 0xff, n >> 8];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const u64 = (n: number) => [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];

export interface ZipWriteOptions {
  readonly deflate?: boolean;
  /** Saturates the 32-bit fields and writes zip64 records, as large torch.save files do. */
  readonly zip64?: boolean;
}

export function writeZip(files: [string, Uint8Array][], opts: ZipWriteOptions = {}): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  const method = opts.deflate ? 8 : 0;
  for (const [name, content] of files) {
    const data = opts.deflate ? deflateRawSync(content) : content;
    const nameBytes = [...new TextEncoder().encode(name)];
    const offset = out.length;
    out.push(...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(method), 0, 0, 0, 0, ...u32(0));
    out.push(...u32(data.length), ...u32(content.length), ...u16(nameBytes.length), ...u16(3), ...nameBytes, 0x5a, 0x5a, 0x5a);
    for (const b of data) out.push(b);
    const big = opts.zip64 === true;
    const extra = big ? [...u16(1), ...u16(24), ...u64(content.length), ...u64(data.length), ...u64(offset)] : [];
    central.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(method), 0, 0, 0, 0, ...u32(0));
    central.push(...u32(big ? 0xffffffff : data.length), ...u32(big ? 0xffffffff : content.length));
    central.push(...u16(nameBytes.length), ...u16(extra.length), ...u16(0), ...u16(0), ...u16(0), ...u32(0));
    central.push(...u32(big ? 0xffffffff : offset), ...nameBytes, ...extra);
  }
  const cdOffset = out.length;
  out.push(...central);
  if (opts.zip64) {
    const recordOffset = out.length;
    out.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0));
    out.push(...u64(files.length), ...u64(files.length), ...u64(central.length), ...u64(cdOffset));
    out.push(...u32(0x07064b50), ...u32(0), ...u64(recordOffset), ...u32(1));
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
  } else {
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(files.length), ...u16(files.length));
    out.push(...u32(central.length), ...u32(cdOffset), ...u16(0));
  }
  return Uint8Array.from(out);
}

/** A zip-format torch.save: `root` must reference storages through storageId(..., 'zip'). */
export function writeTorchZip(root: PickleValue, storages: Record<string, Uint8Array>, opts: ZipWriteOptions = {}): Uint8Array {
  const files: [string, Uint8Array][] = [['archive/data.pkl', writePickle(root)]];
  files.push(['archive/byteorder', new TextEncoder().encode('little')]);
  for (const [key, bytes] of Object.entries(storages)) files.push([`archive/data/${key}`, bytes]);
  files.push(['archive/version', new TextEncoder().encode('3\n')]);
  return writeZip(files, opts);
}

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** A legacy torch.save: the five pickles, then each storage as an int64 count and its bytes. */
export function writeTorchLegacy(
  root: PickleValue,
  storages: { key: string; elementSize: number; bytes: Uint8Array }[],
  opts: { littleEndian?: boolean } = {},
): Uint8Array {
  const sysInfo = dict({
    protocol_version: 1001,
    little_endian: opts.littleEndian ?? true,
    type_sizes: dict({ short: 2, int: 4, long: 8 }),
  });
  const parts = [
    writePickle(LEGACY_MAGIC),
    writePickle(1001),
    writePickle(sysInfo),
    writePickle(root),
    writePickle(storages.map((s) => s.key)),
  ];
  for (const s of storages) {
    parts.push(Uint8Array.from(u64(s.bytes.length / s.elementSize)));
    parts.push(s.bytes);
  }
  return concat(parts);
}

/** A joblib/pickle.dump file whose storages are torch.storage._load_from_bytes(legacy bytes). */
export function loadFromBytesValue(legacyBytes: Uint8Array): PickleValue {
  return call(global('torch.storage', '_load_from_bytes'), pyBytes(legacyBytes));
}

/** The legacy torch.save of one storage, as TypedStorage.__reduce__ produces it. */
export function legacyStorageBytes(type: string, key: string, bytes: Uint8Array, elementSize: number): Uint8Array {
  const numel = bytes.length / elementSize;
  return writeTorchLegacy(persistent(storageId({ key, type, numel }, 'legacy')), [{ key, elementSize, bytes }]);
}

export function writeJoblib(root: PickleValue, opts: PickleWriteOptions = { protocol: 4 }): Uint8Array {
  return writePickle(root, opts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); (at += p.length); }
  return out;
}
