import type { InMemoryTensor } from '../formats/safetensors';
import { hostTensorFromBytes, toFloat32Array, type TensorBytes } from '../runtime/host-tensor';
import type { StateTensor } from './trainable-graph';

/** A model's state in training form: float32 parameters and buffers, and the BatchNorm counters. */
export interface TrainingState {
  tensors: Map<string, StateTensor>;
  counters: Map<string, number>;
}

const COUNTER = /(^|\.)num_batches_tracked$/;

/**
 * A checkpoint's tensors as a training state: `*.num_batches_tracked` become counters (any integer
 * or float dtype), every other tensor float32 (converted from its stored dtype).
 */
export function trainingStateOf(tensors: ReadonlyMap<string, TensorBytes>): TrainingState {
  const state: TrainingState = { tensors: new Map(), counters: new Map() };
  for (const [name, t] of tensors) {
    const host = hostTensorFromBytes(t.dtype, t.shape, t.data);
    if (COUNTER.test(name)) state.counters.set(name, Number(host.data[0] ?? 0));
    else state.tensors.set(name, { shape: [...t.shape], data: toFloat32Array(host).slice() });
  }
  return state;
}

/**
 * The state as PyTorch's state_dict in safetensors entries: float32 parameters and buffers, and each
 * `num_batches_tracked` as a 0-d int64, in name order so that equal states give equal bytes.
 */
export function stateDictEntries(state: TrainingState): InMemoryTensor[] {
  const entries: InMemoryTensor[] = [];
  for (const [name, t] of state.tensors) {
    entries.push({ name, dtype: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
  }
  for (const [name, count] of state.counters) {
    entries.push({ name, dtype: 'I64', shape: [], data: new Uint8Array(BigInt64Array.of(BigInt(count)).buffer) });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
