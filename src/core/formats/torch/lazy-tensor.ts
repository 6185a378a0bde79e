import { CoreError } from '../../errors';
import { dtypeSize } from '../../tensor/dtypes';
import type { LazyTensor } from '../tensor-set';
import type { StorageData, StorageRef, TensorRef } from './pickle-values';

/** Contiguous tensors are streamed in chunks of this size. */
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Non-contiguous tensors are gathered in memory, one at a time, up to this size. */
const MAX_GATHER_BYTES = 1024 * 1024 * 1024;

function invalid(name: string, message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', `tensor ${name}: ${message}`, { tensor: name });
}

/** The bytes behind a storage, following a legacy storage view to its root. */
function storageData(name: string, storage: StorageRef): StorageData {
  const elementSize = dtypeSize(storage.dtype);
  let data: StorageData | undefined;
  if (storage.base) {
    const root = storageData(name, storage.base.storage);
    if (dtypeSize(storage.base.storage.dtype) !== elementSize) throw invalid(name, 'storage view changes the element size');
    const offset = storage.base.elementOffset * elementSize;
    if (offset + storage.numel * elementSize > root.byteLength) throw invalid(name, 'storage view exceeds its root storage');
    data = { source: root.source, offset: root.offset + offset, byteLength: storage.numel * elementSize };
  } else {
    data = storage.data;
  }
  if (!data) throw invalid(name, `storage ${storage.key} has no data in the file`);
  if (storage.numel * elementSize > data.byteLength) {
    throw invalid(name, `storage ${storage.key} declares ${storage.numel} elements but holds ${data.byteLength} bytes`);
  }
  return data;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/**
 * Checks a tensor reference against its storage and returns a LazyTensor that yields its elements
 * C-contiguous: straight from the file when already contiguous, else gathered in memory.
 */
export function toLazyTensor(name: string, ref: TensorRef): LazyTensor {
  const { storage, storageOffset, shape, stride } = ref;
  const dtype = storage.dtype;
  const elementSize = dtypeSize(dtype);
  const data = storageData(name, storage);
  let numel = 1;
  let lastIndex = storageOffset;
  for (let d = 0; d < shape.length; d++) {
    numel *= shape[d];
    lastIndex += (shape[d] - 1) * stride[d];
  }
  const byteLength = numel * elementSize;
  if (!Number.isSafeInteger(byteLength) || !Number.isSafeInteger(lastIndex)) throw invalid(name, 'shape is too large');
  if (numel > 0 && lastIndex >= storage.numel) {
    throw invalid(name, `view (offset ${storageOffset}, shape [${shape}], stride [${stride}]) exceeds its storage of ${storage.numel} elements`);
  }
  const contiguous = numel === 0 || isContiguous(shape, stride);
  if (!contiguous && (byteLength > storage.numel * elementSize || byteLength > MAX_GATHER_BYTES)) {
    throw new CoreError('TORCH_UNSUPPORTED', `tensor ${name}: overlapping view larger than its storage`, { tensor: name });
  }
  const start = data.offset + storageOffset * elementSize;
  return {
    name,
    dtype,
    shape: [...shape],
    async *chunks() {
      if (contiguous) {
        for (let done = 0; done < byteLength; done += CHUNK_BYTES) {
          yield await data.source.read(start + done, Math.min(CHUNK_BYTES, byteLength - done));
        }
        return;
      }
      const span = await data.source.read(start, (lastIndex - storageOffset + 1) * elementSize);
      yield gather(span, shape, stride, elementSize, byteLength);
    },
  };
}

/** Copies a strided view (element 0 at span[0]) into C order. */
function gather(span: Uint8Array, shape: readonly number[], stride: readonly number[], elementSize: number, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const innerSize = shape[rank - 1];
  const innerStride = stride[rank - 1] * elementSize;
  let written = 0;
  let base = 0;
  while (written < byteLength) {
    if (innerStride === elementSize) {
      out.set(span.subarray(base, base + innerSize * elementSize), written);
      written += innerSize * elementSize;
    } else {
      for (let i = 0, from = base; i < innerSize; i++, from += innerStride) {
        for (let b = 0; b < elementSize; b++) out[written++] = span[from + b];
      }
    }
    // Odometer over the outer dimensions.
    for (let d = rank - 2; d >= 0; d--) {
      base += stride[d] * elementSize;
      if (++index[d] < shape[d]) break;
      base -= stride[d] * elementSize * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
