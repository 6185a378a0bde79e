import { createHash } from 'node:crypto';
import { CoreError } from '../../errors';
import type { LazyTensor } from '../tensor-set';
import { planSafetensors } from './header-encode';
import { openAtomicFileSink, streamSink, type ByteSink } from './sinks';

export interface SafetensorsWriteResult {
  bytesWritten: number;
  /** Hex sha256 of everything written (header and data). */
  sha256: string;
}

function byteCountMismatch(tensor: LazyTensor, expected: number, received: string): CoreError {
  return new CoreError(
    'INVALID_ARGUMENT',
    `tensor "${tensor.name}" produced ${received} bytes but ${tensor.dtype} [${tensor.shape.join(', ')}] needs ${expected}`,
    { tensor: tensor.name, expectedBytes: expected },
  );
}

async function streamTensor(tensor: LazyTensor, expected: number, put: (bytes: Uint8Array) => Promise<void>): Promise<void> {
  let received = 0;
  for await (const chunk of tensor.chunks()) {
    received += chunk.byteLength;
    // Checked before writing, so no byte beyond the declared size ever reaches the output.
    if (received > expected) throw byteCountMismatch(tensor, expected, `at least ${received}`);
    if (chunk.byteLength > 0) await put(chunk);
  }
  if (received !== expected) throw byteCountMismatch(tensor, expected, String(received));
}

/**
 * Streams tensors (in the given order) into a safetensors file without holding more than one chunk
 * at a time. The header is computed up front from names, dtypes and shapes; each tensor must then
 * yield exactly its declared bytes (else INVALID_ARGUMENT).
 *
 * `out` as a path: written atomically (temp file, fsync, rename); on failure no file is left.
 * `out` as a stream: ended on success, destroyed on failure. Chunks handed to a stream are not
 * copied, so producers must not reuse a chunk's buffer after yielding it.
 */
export async function writeSafetensors(
  out: NodeJS.WritableStream | string,
  tensors: Iterable<LazyTensor> | readonly LazyTensor[],
  metadata?: Record<string, string>,
): Promise<SafetensorsWriteResult> {
  const list = Array.from(tensors);
  const layout = planSafetensors(list, metadata);
  const sink: ByteSink = typeof out === 'string' ? await openAtomicFileSink(out) : streamSink(out);
  const hash = createHash('sha256');
  let bytesWritten = 0;
  const put = async (bytes: Uint8Array): Promise<void> => {
    const written = sink.write(bytes);
    // Hashing on this thread overlaps the file write running in the libuv pool.
    hash.update(bytes);
    bytesWritten += bytes.byteLength;
    await written;
  };
  try {
    await put(layout.header);
    for (let i = 0; i < list.length; i++) await streamTensor(list[i], layout.byteLengths[i], put);
    await sink.finish();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return { bytesWritten, sha256: hash.digest('hex') };
}
