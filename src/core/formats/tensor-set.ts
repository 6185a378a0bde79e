import { CoreError } from '../errors';
import { dtypeSize, type Dtype } from '../tensor/dtypes';

/**
 * A named tensor whose bytes are produced on demand, so that converters can stream a checkpoint
 * tensor by tensor. Bytes are little-endian, C-contiguous, in the safetensors dtype `dtype`.
 */
export interface LazyTensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Exactly numElements(shape) * dtypeSize(dtype) bytes, possibly in several chunks. */
  chunks(): AsyncIterable<Uint8Array>;
}

export type CheckpointFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'joblib' | 'onnx';

/** What any checkpoint reader returns: tensors in file order plus non-tensor entries. */
export interface TensorSet {
  readonly format: CheckpointFormat;
  readonly tensors: readonly LazyTensor[];
  /** Non-tensor entries (e.g. a torch.save dict's `config`, `epoch`), JSON-compatible. */
  readonly metadata: Record<string, unknown>;
}

/** Collects a lazy tensor's bytes into one buffer (for tests and small tensors). */
export async function readAll(tensor: LazyTensor): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of tensor.chunks()) {
    parts.push(c);
    total += c.byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** The bytes of tensor data a set converts to (from dtypes and shapes alone: nothing is read). */
export function tensorSetBytes(set: Pick<TensorSet, 'tensors'>): number {
  let total = 0;
  for (const t of set.tensors) total += t.shape.reduce((n, d) => n * d, dtypeSize(t.dtype));
  return total;
}

/**
 * Refuses a set whose tensors would take more than `maxBytes` once converted (views of one storage
 * each count in full, as each becomes its own tensor), before any of its bytes is read.
 */
export function checkConvertedSize(set: Pick<TensorSet, 'tensors'>, maxBytes: number | undefined): void {
  if (maxBytes === undefined) return;
  const bytes = tensorSetBytes(set);
  if (bytes > maxBytes) {
    throw new CoreError('CHECKPOINT_TOO_LARGE', `the checkpoint's ${set.tensors.length} tensors take ${bytes} bytes once converted, over the limit of ${maxBytes}`, {
      convertedBytes: bytes,
      maxConvertedBytes: maxBytes,
    });
  }
}
