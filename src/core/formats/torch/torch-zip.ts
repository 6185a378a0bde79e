import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import { dtypeSize } from '../../tensor/dtypes';
import { StorageType } from './allowlist';
import { nestedContext, type NestedLoader } from './nested-loader';
import { PickleInput } from './pickle-input';
import { unpickle } from './pickle-machine';
import { StorageRef, describe, isInt, isTuple } from './pickle-values';
import { openZipEntry, readZipDirectory, type ZipEntry } from './zip-archive';

/**
 * A stored pickle is bounded by the upload's size; a deflated one by this (torch.save writes about
 * 100 bytes of pickle per tensor), so that a small file cannot make the unpickler run for long.
 */
const MAX_DEFLATED_PICKLE_BYTES = 256 * 1024 * 1024;

function invalid(message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', message);
}

/** torch.save's zip layout: `<archive>/data.pkl` is the main pickle, `<archive>/data/<key>` the storages. */
function findMainPickle(entries: Map<string, ZipEntry>): { prefix: string; entry: ZipEntry } {
  for (const [name, entry] of entries) {
    const match = /^([^/]*)\/data\.pkl$/.exec(name);
    if (match) return { prefix: match[1], entry };
  }
  throw invalid('zip archive has no <archive>/data.pkl: not a torch.save checkpoint');
}

async function checkByteOrder(source: RandomAccessSource, entry: ZipEntry | undefined): Promise<void> {
  if (!entry || entry.uncompressedSize > 16) return;
  const content = await openZipEntry(source, entry);
  const text = new TextDecoder().decode(await content.read(0, content.size)).trim();
  if (text !== 'little') throw new CoreError('TORCH_UNSUPPORTED', `torch checkpoint byte order "${text}" is not supported`);
}

/** Unpickles a zip-format torch.save file, with storages pointing at their entries. */
export async function loadTorchZipRoot(source: RandomAccessSource, loadNested: NestedLoader): Promise<unknown> {
  const entries = await readZipDirectory(source);
  const { prefix, entry } = findMainPickle(entries);
  await checkByteOrder(source, entries.get(`${prefix}/byteorder`));
  const storageSources = new Map<string, RandomAccessSource>();
  const persistentLoad = async (pid: unknown): Promise<StorageRef> => {
    if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') throw invalid(`unexpected persistent id (${describe(pid)})`);
    const [, type, key, , numel] = pid;
    if (!(type instanceof StorageType)) throw invalid(`persistent id names a ${describe(type)}, not a storage type`);
    if (typeof key !== 'string' || !isInt(numel) || numel < 0) throw invalid('malformed storage persistent id');
    let data = storageSources.get(key);
    if (!data) {
      const dataEntry = entries.get(`${prefix}/data/${key}`);
      if (!dataEntry) throw invalid(`storage ${key} is missing from the archive`);
      data = await openZipEntry(source, dataEntry);
      storageSources.set(key, data);
    }
    const storage = new StorageRef(key, type.dtype, numel);
    if (numel * dtypeSize(type.dtype) > data.size) throw invalid(`storage ${key} is shorter than its ${numel} elements`);
    storage.data = { source: data, offset: 0, byteLength: data.size };
    return storage;
  };
  if (entry.method !== 0 && entry.uncompressedSize > MAX_DEFLATED_PICKLE_BYTES) {
    throw new CoreError('TORCH_UNSUPPORTED', `deflated ${entry.name} of ${entry.uncompressedSize} bytes is too large to unpickle`);
  }
  const pickle = await openZipEntry(source, entry);
  try {
    return await unpickle(new PickleInput(pickle, 0, pickle.size), { ...nestedContext(loadNested), persistentLoad });
  } finally {
    // A deflated pickle's inflater stops here, wherever the pickle's STOP left it.
    await pickle.close();
  }
}
