import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import { checkConvertedSize, type TensorSet } from '../tensor-set';
import { buildTensorSet } from './checkpoint-content';
import { nestedContext, type NestedLoader } from './nested-loader';
import { PickleInput } from './pickle-input';
import { unpickle } from './pickle-machine';
import { loadTorchLegacyRoot } from './torch-legacy';
import { loadTorchZipRoot } from './torch-zip';

export type TorchCheckpointFormat = 'torch-zip' | 'torch-legacy' | 'joblib';

export interface ReadTorchCheckpointOptions {
  /** Skips detection (the file must still be of that layout). */
  readonly format?: TorchCheckpointFormat;
  /** Refuses (CHECKPOINT_TOO_LARGE) a checkpoint whose tensors convert to more bytes, before reading any. */
  readonly maxConvertedBytes?: number;
}

/** torch.storage._load_from_bytes payloads may nest; real files nest once. */
const MAX_NESTING = 4;
const SNIFF_BYTES = 32;
/** PROTO 2, LONG1 of 10 bytes, then torch's legacy magic number 0x1950a86a20f9469cfc6c (LE). */
const LEGACY_MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function startsWith(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  return bytes.byteLength >= at + expected.length && expected.every((b, i) => bytes[at + i] === b);
}

/**
 * Detects a PyTorch checkpoint layout from its first bytes (32 are enough): a zip local header
 * (torch.save), a pickle starting with torch's legacy magic number, or any other binary pickle
 * (joblib / pickle.dump of tensors).
 */
export function sniffTorchFormat(firstBytes: Uint8Array): TorchCheckpointFormat | null {
  if (startsWith(firstBytes, 0, [0x50, 0x4b, 0x03, 0x04])) return 'torch-zip';
  if (firstBytes.byteLength < 3 || firstBytes[0] !== 0x80 || firstBytes[1] < 2 || firstBytes[1] > 5) return null;
  const afterFrame = firstBytes[2] === 0x95 ? 11 : 2;
  return startsWith(firstBytes, afterFrame, LEGACY_MAGIC_LONG1) ? 'torch-legacy' : 'joblib';
}

function nestedLoader(depth: number): NestedLoader {
  return async (source) => {
    if (depth >= MAX_NESTING) throw new CoreError('TORCH_FORMAT_INVALID', 'torch.save payloads nested too deeply');
    const head = await source.read(0, Math.min(SNIFF_BYTES, source.size));
    const format = sniffTorchFormat(head);
    if (format === 'torch-zip') return loadTorchZipRoot(source, nestedLoader(depth + 1));
    if (format === 'torch-legacy') return loadTorchLegacyRoot(source, nestedLoader(depth + 1));
    throw new CoreError('TORCH_FORMAT_INVALID', 'torch.storage._load_from_bytes payload is not a torch.save byte string');
  };
}

async function loadRoot(source: RandomAccessSource, format: TorchCheckpointFormat): Promise<unknown> {
  const loadNested = nestedLoader(1);
  if (format === 'torch-zip') return loadTorchZipRoot(source, loadNested);
  if (format === 'torch-legacy') return loadTorchLegacyRoot(source, loadNested);
  return unpickle(new PickleInput(source, 0, source.size), nestedContext(loadNested));
}

/**
 * Reads a PyTorch checkpoint (zip or legacy torch.save, or a joblib/pickle file of tensors) with a
 * restricted unpickler that only builds tensors and plain data. Tensors are lazy: their bytes are
 * read from `source` when iterated, so `source` must stay open while they are used.
 */
export async function readTorchCheckpoint(source: RandomAccessSource, opts: ReadTorchCheckpointOptions = {}): Promise<TensorSet> {
  let format = opts.format ?? null;
  if (!format) {
    format = sniffTorchFormat(await source.read(0, Math.min(SNIFF_BYTES, source.size)));
    if (!format) throw new CoreError('TORCH_FORMAT_INVALID', 'not a PyTorch checkpoint: no zip or pickle signature');
  }
  const set = buildTensorSet(format, await loadRoot(source, format), source.size);
  checkConvertedSize(set, opts.maxConvertedBytes);
  return set;
}
