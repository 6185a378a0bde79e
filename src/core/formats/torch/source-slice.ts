import type { RandomAccessSource } from '../../io/random-access';
import { CoreError } from '../../errors';

/** A window [offset, offset + length) of another source; closing it leaves the parent open. */
export function sliceSource(parent: RandomAccessSource, offset: number, length: number): RandomAccessSource {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > parent.size) {
    throw new CoreError('TORCH_FORMAT_INVALID', `region of ${length} bytes at ${offset} is outside a source of ${parent.size} bytes`);
  }
  return {
    size: length,
    read(at, n) {
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(n) || at < 0 || n < 0 || at + n > length) {
        return Promise.reject(new RangeError(`read of ${n} bytes at ${at} is outside a region of ${length} bytes`));
      }
      return parent.read(offset + at, n);
    },
    async close() {},
  };
}
