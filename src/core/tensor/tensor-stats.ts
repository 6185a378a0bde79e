import { CoreError } from '../errors';
import type { LazyTensor } from '../formats/tensor-set';
import { dtypeSize, numElements, type Dtype } from './dtypes';
import { float16LookupTable } from './half';

/** Summary statistics of a tensor's values (all dtypes read as numbers; BOOL as 0/1). */
export interface TensorStats {
  /** Number of elements, NaN and infinities included. */
  count: number;
  /** Smallest / largest value ignoring NaN (±Infinity count); null when there is no such value. */
  min: number | null;
  max: number | null;
  /** Mean and population standard deviation of the finite values; null when there are none. */
  mean: number | null;
  std: number | null;
  /** Fraction of all elements equal to ±0 (0 for an empty tensor). */
  zeroFraction: number;
  nanCount: number;
  infCount: number;
}

/** Consumes a tensor's little-endian bytes in chunks of any size (elements may span chunks). */
export interface StatsAccumulator {
  push(bytes: Uint8Array): void;
  result(): TensorStats;
}

/** Elements decoded per batch: bounds the float64 scratch buffer whatever the chunk size. */
const BATCH = 65536;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes `count` elements starting at `byteOffset` of `buffer` (aligned, host byte order). */
type Decoder = (buffer: ArrayBufferLike, byteOffset: number, count: number, out: Float64Array) => void;

function decoderFor(dtype: Dtype): Decoder {
  switch (dtype) {
    case 'F64':
      return (b, o, n, out) => out.set(new Float64Array(b, o, n));
    case 'F32':
      return (b, o, n, out) => out.set(new Float32Array(b, o, n));
    case 'I32':
      return (b, o, n, out) => out.set(new Int32Array(b, o, n));
    case 'I16':
      return (b, o, n, out) => out.set(new Int16Array(b, o, n));
    case 'I8':
      return (b, o, n, out) => out.set(new Int8Array(b, o, n));
    case 'U8':
      return (b, o, n, out) => out.set(new Uint8Array(b, o, n));
    case 'BOOL':
      return (b, o, n, out) => {
        const bytes = new Uint8Array(b, o, n);
        for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      };
    case 'F16': {
      const table = float16LookupTable();
      return (b, o, n, out) => {
        const bits = new Uint16Array(b, o, n);
        for (let i = 0; i < n; i++) out[i] = table[bits[i]];
      };
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32: place the bits, read the float.
      const wide = new Uint32Array(BATCH);
      const floats = new Float32Array(wide.buffer);
      return (b, o, n, out) => {
        const bits = new Uint16Array(b, o, n);
        for (let i = 0; i < n; i++) wide[i] = bits[i] << 16;
        out.set(floats.subarray(0, n));
      };
    }
    case 'I64': {
      // Exact below 2^53; larger magnitudes round once, which is fine for statistics.
      const [low, high] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
      return (b, o, n, out) => {
        const words = new Int32Array(b, o, 2 * n);
        for (let i = 0; i < n; i++) out[i] = words[2 * i + high] * 4294967296 + (words[2 * i + low] >>> 0);
      };
    }
    default:
      throw new CoreError('INVALID_ARGUMENT', `no statistics for dtype ${String(dtype)}`, { dtype });
  }
}

/**
 * Typed arrays need element-aligned offsets and read in host byte order: unaligned views (common
 * in Node's pooled buffers) are copied to `scratch`, and on big-endian hosts each element is swapped.
 */
function alignedElements(
  bytes: Uint8Array,
  byteOffset: number,
  count: number,
  size: number,
  scratch: Uint8Array,
): { buffer: ArrayBufferLike; offset: number } {
  const start = bytes.byteOffset + byteOffset;
  if (LITTLE_ENDIAN && start % size === 0) return { buffer: bytes.buffer, offset: start };
  const length = count * size;
  scratch.set(bytes.subarray(byteOffset, byteOffset + length));
  if (!LITTLE_ENDIAN && size > 1) {
    for (let e = 0; e < length; e += size) scratch.subarray(e, e + size).reverse();
  }
  return { buffer: scratch.buffer, offset: scratch.byteOffset };
}

interface BatchSummary {
  min: number;
  max: number;
  sum: number;
  zeros: number;
  nan: number;
  inf: number;
}

/** One pass over a batch; the common all-finite case runs a branch-light loop. */
function summarize(values: Float64Array, n: number): BatchSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v === 0) zeros++;
  }
  // A finite sum proves there was no NaN or infinity; otherwise count them (sum of finite values).
  if (Number.isFinite(sum)) return { min, max, sum, zeros, nan: 0, inf: 0 };
  let nan = 0;
  let inf = 0;
  sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) inf++;
    else sum += v;
  }
  return { min, max, sum, zeros, nan, inf };
}

function squaredDeviations(values: Float64Array, n: number, mean: number, allFinite: boolean): number {
  let m2 = 0;
  if (allFinite) {
    for (let i = 0; i < n; i++) {
      const d = values[i] - mean;
      m2 += d * d;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (Number.isFinite(v)) m2 += (v - mean) * (v - mean);
    }
  }
  return m2;
}

export function createStatsAccumulator(dtype: Dtype): StatsAccumulator {
  const size = dtypeSize(dtype);
  const decode = decoderFor(dtype);
  // Values are batched in fixed groups of BATCH whatever the chunking, so that the result is
  // bit-identical however the bytes were split.
  const values = new Float64Array(BATCH);
  let filled = 0;
  const scratch = new Uint8Array(BATCH * size);
  const pending = new Uint8Array(size);
  let pendingLength = 0;

  let count = 0;
  let nanCount = 0;
  let infCount = 0;
  let zeroCount = 0;
  let min = Infinity;
  let max = -Infinity;
  // Mean and sum of squared deviations of the finite values, merged batch by batch (Chan et al.):
  // two passes per batch keep float64 accuracy without a division per element.
  let finiteCount = 0;
  let mean = 0;
  let m2 = 0;

  function flushBatch(): void {
    const n = filled;
    filled = 0;
    const batch = summarize(values, n);
    count += n;
    nanCount += batch.nan;
    infCount += batch.inf;
    zeroCount += batch.zeros;
    min = Math.min(min, batch.min);
    max = Math.max(max, batch.max);
    const batchFinite = n - batch.nan - batch.inf;
    if (batchFinite === 0) return;
    const batchMean = batch.sum / batchFinite;
    const batchM2 = squaredDeviations(values, n, batchMean, batchFinite === n);
    if (finiteCount === 0) {
      [finiteCount, mean, m2] = [batchFinite, batchMean, batchM2];
      return;
    }
    const total = finiteCount + batchFinite;
    const delta = batchMean - mean;
    mean += (delta * batchFinite) / total;
    m2 += batchM2 + (delta * delta * finiteCount * batchFinite) / total;
    finiteCount = total;
  }

  function consume(bytes: Uint8Array, byteOffset: number, elements: number): void {
    for (let done = 0; done < elements; ) {
      const n = Math.min(BATCH - filled, elements - done);
      const { buffer, offset } = alignedElements(bytes, byteOffset + done * size, n, size, scratch);
      decode(buffer, offset, n, filled === 0 ? values : values.subarray(filled));
      filled += n;
      done += n;
      if (filled === BATCH) flushBatch();
    }
  }

  return {
    push(bytes) {
      let offset = 0;
      if (pendingLength > 0) {
        // Complete the element split across the previous chunk and this one.
        const take = Math.min(size - pendingLength, bytes.byteLength);
        pending.set(bytes.subarray(0, take), pendingLength);
        pendingLength += take;
        offset = take;
        if (pendingLength < size) return;
        consume(pending, 0, 1);
        pendingLength = 0;
      }
      const elements = Math.floor((bytes.byteLength - offset) / size);
      consume(bytes, offset, elements);
      const restStart = offset + elements * size;
      if (restStart < bytes.byteLength) {
        pending.set(bytes.subarray(restStart));
        pendingLength = bytes.byteLength - restStart;
      }
    },
    result() {
      if (pendingLength > 0) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `${dtype} data ends with ${pendingLength} byte(s) of an incomplete ${size}-byte element`,
          { dtype, leftoverBytes: pendingLength },
        );
      }
      if (filled > 0) flushBatch();
      const ordered = count - nanCount > 0;
      return {
        count,
        min: ordered ? min : null,
        max: ordered ? max : null,
        mean: finiteCount > 0 ? mean : null,
        std: finiteCount > 0 ? Math.sqrt(m2 / finiteCount) : null,
        zeroFraction: count > 0 ? zeroCount / count : 0,
        nanCount,
        infCount,
      };
    },
  };
}

/** Streams a lazy tensor through an accumulator, checking it yields exactly its declared bytes. */
export async function tensorStats(tensor: LazyTensor): Promise<TensorStats> {
  const accumulator = createStatsAccumulator(tensor.dtype);
  const expected = numElements(tensor.shape) * dtypeSize(tensor.dtype);
  let received = 0;
  for await (const chunk of tensor.chunks()) {
    received += chunk.byteLength;
    accumulator.push(chunk);
  }
  if (received !== expected) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `tensor "${tensor.name}" produced ${received} bytes, expected ${expected} for ${tensor.dtype} [${tensor.shape.join(', ')}]`,
      { tensor: tensor.name, expectedBytes: expected, receivedBytes: received },
    );
  }
  return accumulator.result();
}
