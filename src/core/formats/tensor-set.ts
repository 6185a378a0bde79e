import type { Dtype } from '../tensor/dtypes';

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
