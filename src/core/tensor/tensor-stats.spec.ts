import { CoreError } from '../errors';
import type { LazyTensor } from '../formats/tensor-set';
import type { Dtype } from './dtypes';
import { encodeBfloat16, encodeFloat16 } from './half';
import { createStatsAccumulator, tensorStats, type TensorStats } from './tensor-stats';

function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function statsOf(dtype: Dtype, bytes: Uint8Array, chunkSizes: number[] = []): TensorStats {
  const accumulator = createStatsAccumulator(dtype);
  let offset = 0;
  for (const size of chunkSizes) {
    accumulator.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  accumulator.push(bytes.subarray(offset));
  return accumulator.result();
}

function lazy(dtype: Dtype, shape: number[], chunks: Uint8Array[]): LazyTensor {
  return {
    name: 't',
    dtype,
    shape,
    async *chunks() {
      yield* chunks;
    },
  };
}

describe('createStatsAccumulator', () => {
  it('computes hand-checked F32 statistics', () => {
    // values 1, 2, 3, 4, 0: mean 2, population variance (1+0+1+4+4)/5 = 2
    const s = statsOf('F32', bytesOf(new Float32Array([1, 2, 3, 4, 0])));
    expect(s).toEqual({ count: 5, min: 0, max: 4, mean: 2, std: Math.sqrt(2), zeroFraction: 0.2, nanCount: 0, infCount: 0 });
  });

  it('gives the same result whatever the chunking, including splits inside an element', () => {
    const values = new Float64Array([-1.5, 2.25, 1e-3, 7, -0, 3]);
    const bytes = bytesOf(values);
    const whole = statsOf('F64', bytes);
    expect(statsOf('F64', bytes, [3, 1, 9, 0, 14, 5])).toEqual(whole);
    expect(statsOf('F64', bytes, Array(bytes.byteLength - 1).fill(1))).toEqual(whole);
    expect(whole.min).toBe(-1.5);
    expect(whole.max).toBe(7);
    expect(whole.zeroFraction).toBeCloseTo(1 / 6, 15);
    expect(whole.mean).toBeCloseTo(10.751 / 6, 12);
  });

  it('reads unaligned views', () => {
    const backing = new Uint8Array(13);
    backing.set(bytesOf(new Int32Array([-7, 9, 100])), 1);
    const s = statsOf('I32', backing.subarray(1), [5]);
    expect([s.min, s.max, s.mean]).toEqual([-7, 100, 34]);
  });

  it('decodes F16 and BF16 known bit patterns', () => {
    // 0x3C00 = 1, 0xC000 = -2 (both formats share 0xC000 = -2), bf16 0x3F80 = 1
    const f16 = statsOf('F16', new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00]), [1, 2]);
    expect([f16.min, f16.max, f16.mean, f16.zeroFraction]).toEqual([-2, 1, -1 / 3, 1 / 3]);
    const bf16 = statsOf('BF16', new Uint8Array([0x80, 0x3f, 0x00, 0xc0]), [3]);
    expect([bf16.min, bf16.max, bf16.mean, bf16.std]).toEqual([-2, 1, -0.5, 1.5]);
    expect(statsOf('F16', encodeFloat16([0.5, 0.25])).mean).toBe(0.375);
    expect(statsOf('BF16', encodeBfloat16([0.5, 0.25])).mean).toBe(0.375);
  });

  it('counts NaN and infinities: min/max skip NaN, mean/std use finite values only', () => {
    const s = statsOf('F32', bytesOf(new Float32Array([NaN, 1, Infinity, 3, -Infinity, NaN])));
    expect(s).toEqual({ count: 6, min: -Infinity, max: Infinity, mean: 2, std: 1, zeroFraction: 0, nanCount: 2, infCount: 2 });
    const allNaN = statsOf('F32', bytesOf(new Float32Array([NaN, NaN])));
    expect(allNaN).toMatchObject({ count: 2, min: null, max: null, mean: null, std: null, nanCount: 2 });
  });

  it('returns nulls for an empty tensor', () => {
    expect(statsOf('F16', new Uint8Array(0))).toEqual({
      count: 0, min: null, max: null, mean: null, std: null, zeroFraction: 0, nanCount: 0, infCount: 0,
    });
  });

  it('reads I64 (including negative and beyond 2^32), integers and BOOL', () => {
    const big = statsOf('I64', bytesOf(new BigInt64Array([-3n, 2n ** 40n, 0n])), [4, 7]);
    expect([big.min, big.max, big.mean, big.zeroFraction]).toEqual([-3, 2 ** 40, (2 ** 40 - 3) / 3, 1 / 3]);
    expect(statsOf('I16', bytesOf(new Int16Array([-32768, 32767]))).mean).toBe(-0.5);
    expect(statsOf('I8', new Uint8Array([0xff, 0x01])).min).toBe(-1);
    expect(statsOf('U8', new Uint8Array([0xff, 0x01])).max).toBe(255);
    const bool = statsOf('BOOL', new Uint8Array([0, 1, 2, 0]));
    expect([bool.min, bool.max, bool.mean, bool.std, bool.zeroFraction]).toEqual([0, 1, 0.5, 0.5, 0.5]);
  });

  it('keeps float64 accuracy across many batches', () => {
    const n = 200_000; // more than two internal batches
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = 1000 + (i % 2 === 0 ? 1 : -1);
    const s = statsOf('F32', bytesOf(values), [12345, 77777]);
    expect(statsOf('F32', bytesOf(values), [3, 500_001])).toEqual(s);
    expect(s.mean).toBeCloseTo(1000, 9);
    expect(s.std).toBeCloseTo(1, 9);
  });

  it('rejects data that ends inside an element', () => {
    expect(() => statsOf('F32', new Uint8Array(6))).toThrow(CoreError);
  });
});

describe('tensorStats', () => {
  it('streams a lazy tensor', async () => {
    const bytes = bytesOf(new Float32Array([1, 2, 3]));
    const s = await tensorStats(lazy('F32', [3], [bytes.subarray(0, 5), bytes.subarray(5)]));
    expect([s.count, s.mean]).toEqual([3, 2]);
  });

  it('rejects a tensor whose chunks do not match its shape', async () => {
    const error = await tensorStats(lazy('F32', [2, 2], [new Uint8Array(12)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe('INVALID_ARGUMENT');
    expect((error as CoreError).details).toMatchObject({ expectedBytes: 16, receivedBytes: 12 });
  });
});
