import { serializeSafetensors } from '../../formats/safetensors';
import { readAll } from '../../formats/tensor-set';
import { bufferSource } from '../../io/random-access';
import type { Dtype } from '../../tensor/dtypes';
import { planSoup, type SoupRequest, type SoupSource } from '../engine';
import { decodeToFloat64, encodeFromFloat64, isFloatDtype } from '../numeric';

/** A tensor for a test checkpoint: float values (rounded to the dtype) or int64 values. */
export interface TestTensor {
  name: string;
  shape: number[];
  dtype?: Dtype;
  values: ArrayLike<number> | readonly bigint[];
}

function tensorBytes(t: TestTensor): Uint8Array {
  const dtype = t.dtype ?? 'F32';
  if (dtype === 'I64') return new Uint8Array(BigInt64Array.from(t.values as readonly bigint[]).buffer);
  if (dtype === 'I32') return new Uint8Array(Int32Array.from(t.values as ArrayLike<number>).buffer);
  return encodeFromFloat64(Float64Array.from(t.values as ArrayLike<number>), dtype).slice();
}

/** A safetensors file in memory. */
export function checkpointBytes(tensors: readonly TestTensor[], metadata?: Record<string, string>): Uint8Array {
  return serializeSafetensors(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype ?? 'F32', shape: t.shape, data: tensorBytes(t) })),
    metadata,
  );
}

export function ingredient(label: string, tensors: readonly TestTensor[], metadata?: Record<string, string>): SoupSource {
  return { label, source: bufferSource(checkpointBytes(tensors, metadata)) };
}

export interface SoupTensor {
  dtype: Dtype;
  shape: readonly number[];
  bytes: Uint8Array;
  /** Float tensors only. */
  values: Float64Array | null;
}

/** Runs a soup in memory and returns its tensors by name. */
export async function soupTensors(request: SoupRequest): Promise<Map<string, SoupTensor>> {
  const plan = await planSoup(request);
  const out = new Map<string, SoupTensor>();
  for (const t of plan.tensors) {
    const bytes = await readAll(t);
    out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes, values: isFloatDtype(t.dtype) ? decodeToFloat64(bytes, t.dtype) : null });
  }
  return out;
}

/** Deterministic pseudo-random values in [-1, 1) (a small LCG: tests need variety, not quality). */
export function testValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
