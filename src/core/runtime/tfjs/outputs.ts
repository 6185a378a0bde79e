import * as tf from '@tensorflow/tfjs-core';
import { numElements } from '../../tensor/dtypes';
import { FLOAT_DTYPES } from '../host-ops';
import type { HostTensor } from '../host-tensor';
import { isTensorValue, logicalShape, plain, type KernelContext, type RtValue } from './values';

/** Downloads a graph output as a HostTensor (float outputs as F32, int64 as BigInt64Array). */
export async function readOutput(v: RtValue, ctx: KernelContext): Promise<HostTensor> {
  const shape = logicalShape(v);
  let values: ArrayLike<number>;
  if (isTensorValue(v)) {
    const t = tf.tidy(() => plain(ctx, v));
    try {
      values = (await t.data()) as ArrayLike<number>;
    } finally {
      if (t !== v.tensor) t.dispose();
    }
  } else {
    values = v.values;
  }
  const n = numElements(shape);
  if (FLOAT_DTYPES.has(v.dtype)) return { dtype: 'F32', shape, data: Float32Array.from(values) };
  if (v.dtype === 'BOOL' || v.dtype === 'U8') return { dtype: v.dtype, shape, data: Uint8Array.from(values) };
  if (v.dtype === 'I64') {
    const data = new BigInt64Array(n);
    for (let i = 0; i < n; i++) data[i] = BigInt(Math.trunc(values[i]));
    return { dtype: 'I64', shape, data };
  }
  return { dtype: 'I32', shape, data: Int32Array.from(values) };
}
