import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import { dtypeSize } from '../../tensor/dtypes';
import { StorageType } from './allowlist';
import { nestedContext, type NestedLoader } from './nested-loader';
import { PickleInput } from './pickle-input';
import { unpickle } from './pickle-machine';
import { StorageRef, describe, isDict, isInt, isList, isTuple } from './pickle-values';

/** torch.save's legacy (pre-zip) magic number, pickled first. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function invalid(message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', `legacy torch checkpoint: ${message}`);
}

/** The storages referenced by the main pickle, by root key, plus legacy storage views. */
class LegacyStorages {
  readonly roots = new Map<string, StorageRef>();
  private readonly views = new Map<string, StorageRef>();

  resolve(pid: unknown): StorageRef {
    if (!isTuple(pid) || pid.length < 1) throw invalid(`unexpected persistent id (${describe(pid)})`);
    if (pid[0] !== 'storage') {
      throw new CoreError('TORCH_UNSUPPORTED', `legacy persistent id of kind ${String(pid[0]).slice(0, 40)} is not supported`);
    }
    if (pid.length !== 6) throw invalid('malformed storage persistent id');
    const [, type, rootKey, , numel, view] = pid;
    if (!(type instanceof StorageType)) throw invalid(`persistent id names a ${describe(type)}, not a storage type`);
    if (typeof rootKey !== 'string' || !isInt(numel) || numel < 0) throw invalid('malformed storage persistent id');
    let root = this.roots.get(rootKey);
    if (!root) {
      root = new StorageRef(rootKey, type.dtype, numel);
      this.roots.set(rootKey, root);
    } else if (root.dtype !== type.dtype) {
      throw invalid(`storage ${rootKey} is used with two dtypes`);
    }
    if (view === null) return root;
    if (!isTuple(view) || view.length !== 3) throw invalid('malformed storage view');
    const [viewKey, offset, viewSize] = view;
    if (typeof viewKey !== 'string' || !isInt(offset) || !isInt(viewSize) || offset < 0 || viewSize < 0) {
      throw invalid('malformed storage view');
    }
    let storage = this.views.get(viewKey);
    if (!storage) {
      storage = new StorageRef(viewKey, type.dtype, viewSize, { storage: root, elementOffset: offset });
      this.views.set(viewKey, storage);
    }
    return storage;
  }
}

/**
 * Unpickles a legacy torch.save file: magic number, protocol version and sys_info pickles, the
 * main pickle, the list of storage keys, then each storage as an int64 element count followed by
 * its raw bytes, whose offsets are recorded (nothing is copied).
 */
export async function loadTorchLegacyRoot(source: RandomAccessSource, loadNested: NestedLoader): Promise<unknown> {
  const input = new PickleInput(source, 0, source.size);
  const magic = await unpickle(input);
  if (magic !== LEGACY_MAGIC) throw invalid('magic number mismatch');
  const protocol = await unpickle(input);
  if (protocol !== LEGACY_PROTOCOL_VERSION) throw new CoreError('TORCH_UNSUPPORTED', `legacy protocol version ${String(protocol)} is not supported`);
  const sysInfo = await unpickle(input);
  if (!isDict(sysInfo)) throw invalid('sys_info is not a dict');
  if (sysInfo.get('little_endian') === false) throw new CoreError('TORCH_UNSUPPORTED', 'big-endian torch checkpoints are not supported');

  const storages = new LegacyStorages();
  const root = await unpickle(input, { ...nestedContext(loadNested), persistentLoad: (pid) => storages.resolve(pid) });
  const keys = await unpickle(input);
  if (!isList(keys) || !keys.every((k) => typeof k === 'string')) throw invalid('storage key list is malformed');

  let offset = input.pos;
  for (const key of keys as string[]) {
    const storage = storages.roots.get(key);
    if (!storage) throw invalid(`storage ${key} is not referenced by the checkpoint`);
    if (storage.data) throw invalid(`storage ${key} is stored twice`);
    if (offset + 8 > source.size) throw invalid(`storage ${key} header is past the end of the file`);
    const header = await source.read(offset, 8);
    const view = new DataView(header.buffer, header.byteOffset, 8);
    const count = view.getUint32(0, true) + view.getUint32(4, true) * 0x100000000;
    const byteLength = count * dtypeSize(storage.dtype);
    if (!Number.isSafeInteger(byteLength) || offset + 8 + byteLength > source.size) {
      throw invalid(`storage ${key} of ${count} elements is past the end of the file`);
    }
    storage.numel = count;
    storage.data = { source, offset: offset + 8, byteLength };
    offset += 8 + byteLength;
  }
  return root;
}
