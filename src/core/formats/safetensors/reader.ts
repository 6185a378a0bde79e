import { CoreError } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import type { LazyTensor, TensorSet } from '../tensor-set';
import { parseSafetensorsHeader } from './header-parse';
import { DEFAULT_MAX_HEADER_BYTES, MAX_CHUNK_BYTES, type SafetensorsHeader, type SafetensorsTensorInfo } from './types';

export interface ReadSafetensorsOptions {
  /** Largest JSON header accepted (default 100 MiB): the header is held in memory whole. */
  maxHeaderBytes?: number;
  /** Largest chunk a lazy tensor yields (default and maximum 16 MiB). */
  chunkBytes?: number;
}

export type SafetensorsTensorSet = TensorSet & { readonly header: SafetensorsHeader };

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new CoreError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got ${value}`, { [name]: value });
  }
  return value;
}

/**
 * Reads and fully validates a safetensors header: the 8-byte length, the JSON, and that the
 * tensors tile the data section exactly. Reads only the first 8 + headerLength bytes.
 */
export async function readSafetensorsHeader(
  source: RandomAccessSource,
  opts: ReadSafetensorsOptions = {},
): Promise<SafetensorsHeader> {
  const maxHeaderBytes = integerOption('maxHeaderBytes', opts.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 0);
  const fileSize = source.size;
  if (fileSize === 0) throw new CoreError('SAFETENSORS_EMPTY', 'safetensors file is empty (0 bytes)', { fileSize });
  if (fileSize < 8) {
    throw new CoreError('SAFETENSORS_TRUNCATED', `safetensors file has ${fileSize} bytes, fewer than its 8-byte header length`, {
      fileSize,
    });
  }
  const prefix = await source.read(0, 8);
  const declared = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(maxHeaderBytes)) {
    throw new CoreError(
      'SAFETENSORS_HEADER_TOO_LARGE',
      `safetensors header length ${declared} exceeds the limit of ${maxHeaderBytes} bytes`,
      { headerLength: declared.toString(), maxHeaderBytes, fileSize },
    );
  }
  const headerLength = Number(declared);
  if (8 + headerLength > fileSize) {
    throw new CoreError(
      'SAFETENSORS_HEADER_OUT_OF_BOUNDS',
      `safetensors header length ${headerLength} runs past the end of the ${fileSize}-byte file (8 + ${headerLength} > ${fileSize})`,
      { headerLength, fileSize },
    );
  }
  return parseSafetensorsHeader(await source.read(8, headerLength), fileSize);
}

/** A tensor's bytes in one buffer (for a buffer source, a view of it: copy before mutating). */
export function readTensorBytes(source: RandomAccessSource, info: SafetensorsTensorInfo): Promise<Uint8Array> {
  return source.read(info.byteOffset, info.byteLength);
}

function lazyTensor(source: RandomAccessSource, info: SafetensorsTensorInfo, chunkBytes: number): LazyTensor {
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    async *chunks() {
      const end = info.byteOffset + info.byteLength;
      for (let offset = info.byteOffset; offset < end; offset += chunkBytes) {
        yield await source.read(offset, Math.min(chunkBytes, end - offset));
      }
    },
  };
}

/**
 * Validates the header and returns tensors in file order whose bytes are read from `source` on
 * demand, in chunks of at most 16 MiB. The source must stay open while the tensors are read.
 */
export async function readSafetensors(source: RandomAccessSource, opts: ReadSafetensorsOptions = {}): Promise<SafetensorsTensorSet> {
  const chunkBytes = Math.min(integerOption('chunkBytes', opts.chunkBytes, MAX_CHUNK_BYTES, 1), MAX_CHUNK_BYTES);
  const header = await readSafetensorsHeader(source, opts);
  return {
    format: 'safetensors',
    tensors: header.tensors.map((info) => lazyTensor(source, info, chunkBytes)),
    metadata: header.metadata ?? {},
    header,
  };
}
