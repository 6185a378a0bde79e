import { CoreError } from '../../errors';
import { bufferSource } from '../../io/random-access';
import { readAll, tensorSetBytes } from '../tensor-set';
import { readTorchCheckpoint } from './read-torch-checkpoint';
import { readZipDirectory } from './zip-archive';
import { STORAGE_TYPES, storageId, tensorValue, writeTorchZip } from './testing/checkpoint-writers';
import { orderedDict, persistent, type PickleValue } from './testing/pickle-writer';

const MiB = 1024 * 1024;

function floatStorage(numel: number): PickleValue {
  return persistent(storageId({ key: '0', type: STORAGE_TYPES.F32, numel }, 'zip'));
}

/**
 * A zip .pt with one float32 tensor over a deflated storage of `bytes` zeros (about 1 KB per MiB),
 * optionally followed by an unused entry of `padding` random bytes.
 */
function deflateBomb(bytes: number, padding = 0): Uint8Array {
  const numel = bytes / 4;
  const filler = new Uint8Array(padding).map(() => Math.floor(Math.random() * 256));
  return writeTorchZip(orderedDict({ w: tensorValue(floatStorage(numel), 0, [numel], [1]) }), { '0': new Uint8Array(bytes), '1': filler }, { deflate: true });
}

/** Where the compressed data of an entry lies in the archive. */
async function dataRegion(file: Uint8Array, name: string): Promise<[number, number]> {
  const entry = (await readZipDirectory(bufferSource(file))).get(name)!;
  const header = new DataView(file.buffer, file.byteOffset + entry.localHeaderOffset, 30);
  const start = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  return [start, start + entry.compressedSize];
}

/** A zip .pt with `views` tensors that all view the whole of one storage of `bytes` bytes. */
function manyViews(views: number, bytes: number, opts: { deflate?: boolean } = {}): Uint8Array {
  const numel = bytes / 4;
  const storage = floatStorage(numel);
  const entries: Record<string, PickleValue> = {};
  for (let i = 0; i < views; i++) entries[`layer${i}.weight`] = tensorValue(storage, 0, [numel], [1]);
  return writeTorchZip(orderedDict(entries), { '0': new Uint8Array(bytes).fill(7) }, opts);
}

/** Rewrites the uncompressed size that the central directory declares for `name`. */
function withDeclaredSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const view = new DataView(out.buffer);
  const nameBytes = new TextEncoder().encode(name);
  for (let at = 0; at + 46 <= out.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50 || view.getUint16(at + 28, true) !== nameBytes.length) continue;
    if (out.subarray(at + 46, at + 46 + nameBytes.length).every((b, i) => b === nameBytes[i])) {
      view.setUint32(at + 24, size, true);
      return out;
    }
  }
  throw new Error(`no central directory record for ${name}`);
}

async function codeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (e) {
    if (e instanceof CoreError) return e.code;
    throw e;
  }
  return 'ok';
}

async function readEveryTensor(bytes: Uint8Array): Promise<void> {
  const set = await readTorchCheckpoint(bufferSource(bytes));
  for (const t of set.tensors) await readAll(t);
}

describe('converted size limit', () => {
  it('refuses a deflate bomb from its declared shapes, before inflating anything', async () => {
    // The unused entry after the bomb keeps its data out of the directory search's 64 KiB tail read.
    const file = deflateBomb(64 * MiB, 80 * 1024);
    expect(file.length).toBeLessThan(MiB / 4);
    const [start, end] = await dataRegion(file, 'archive/data/0');
    const reads: [number, number][] = [];
    const source = bufferSource(file);
    const spied = { ...source, read: (offset: number, length: number) => (reads.push([offset, offset + length]), source.read(offset, length)) };
    const error = await readTorchCheckpoint(spied, { maxConvertedBytes: 16 * MiB }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: 'CHECKPOINT_TOO_LARGE', details: { convertedBytes: 64 * MiB, maxConvertedBytes: 16 * MiB } });
    // The directory and the pickle were read; not one byte of the bomb's compressed data.
    expect(reads.length).toBeGreaterThan(2);
    expect(reads.filter(([from, to]) => from < end && to > start)).toEqual([]);
  });

  it('counts each view of one storage in full, as the converted file stores each', async () => {
    const file = manyViews(100, 64 * 1024);
    const error = await readTorchCheckpoint(bufferSource(file), { maxConvertedBytes: MiB }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKPOINT_TOO_LARGE', details: { convertedBytes: 100 * 64 * 1024 } });
    const allowed = await readTorchCheckpoint(bufferSource(file), { maxConvertedBytes: 100 * 64 * 1024 });
    expect(allowed.tensors).toHaveLength(100);
    expect(tensorSetBytes(allowed)).toBe(100 * 64 * 1024);
  });
});

describe('deflated zip entries', () => {
  it('inflate on demand to the same bytes, in chunks, when within the limit', async () => {
    const set = await readTorchCheckpoint(bufferSource(deflateBomb(32 * MiB)), { maxConvertedBytes: 32 * MiB });
    let total = 0;
    let largest = 0;
    for await (const chunk of set.tensors[0].chunks()) {
      expect(chunk.every((b) => b === 0)).toBe(true);
      total += chunk.byteLength;
      largest = Math.max(largest, chunk.byteLength);
    }
    expect(total).toBe(32 * MiB);
    expect(largest).toBeLessThan(32 * MiB);
  });

  it('inflate without blocking the event loop', async () => {
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      await readEveryTensor(deflateBomb(64 * MiB));
    } finally {
      ticking = false;
    }
    // Inflating synchronously would run the whole read without one turn of the loop.
    expect(turns).toBeGreaterThan(10);
  });

  it('refuse an entry that inflates to more bytes than it declares', async () => {
    // Declares 2 KiB (as the pickle's storage does) but holds 4 KiB.
    const bytes = writeTorchZip(orderedDict({ w: tensorValue(floatStorage(512), 0, [512], [1]) }), { '0': new Uint8Array(4096) }, { deflate: true });
    expect(await codeOf(() => readEveryTensor(withDeclaredSize(bytes, 'archive/data/0', 2048)))).toBe('TORCH_FORMAT_INVALID');
  });

  it('refuse an entry that inflates to fewer bytes than it declares', async () => {
    const bytes = writeTorchZip(orderedDict({ w: tensorValue(floatStorage(1024), 0, [1024], [1]) }), { '0': new Uint8Array(2048) }, { deflate: true });
    expect(await codeOf(() => readEveryTensor(withDeclaredSize(bytes, 'archive/data/0', 4096)))).toBe('TORCH_FORMAT_INVALID');
  });

  it('refuse views that make the inflater start over again and again', async () => {
    // Single elements near the end of a 32 MiB deflated storage, each behind the one before.
    const numel = (32 * MiB) / 4;
    const storage = floatStorage(numel);
    const entries: Record<string, PickleValue> = {};
    for (let i = 0; i < 64; i++) entries[`v${i}`] = tensorValue(storage, numel - 1 - i * 100_000, [1], [1]);
    const bytes = writeTorchZip(orderedDict(entries), { '0': new Uint8Array(32 * MiB) }, { deflate: true });
    expect(await codeOf(() => readEveryTensor(bytes))).toBe('TORCH_UNSUPPORTED');
  });

  it('still read a few views of one deflated storage (tied weights)', async () => {
    const set = await readTorchCheckpoint(bufferSource(manyViews(8, MiB, { deflate: true })));
    for (const t of set.tensors) expect((await readAll(t)).every((b) => b === 7)).toBe(true);
  });
});

describe('deflated pickles', () => {
  it('are refused past 256 MiB before anything is inflated', async () => {
    const bytes = writeTorchZip(orderedDict({}), {}, { deflate: true });
    // A size no real pickle has.
    const huge = withDeclaredSize(bytes, 'archive/data.pkl', 300 * MiB);
    const entry = (await readZipDirectory(bufferSource(huge))).get('archive/data.pkl')!;
    expect(entry.uncompressedSize).toBe(300 * MiB);
    expect(await codeOf(() => readTorchCheckpoint(bufferSource(huge)))).toBe('TORCH_UNSUPPORTED');
  });
});
