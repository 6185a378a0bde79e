import type { LazyTensor } from '../formats/tensor-set';
import type { ArchitectureGraph } from '../graph/ir';
import { hostTensorFromBytes, toFloat32Array, type TensorBytes } from '../runtime/host-tensor';
import { counterName } from './trainable-graph';
import type { ModelState } from './trainer';

/** Each BatchNorm's `num_batches_tracked` (an ONNX export has no initializer for it). */
export function counterNames(graph: ArchitectureGraph): string[] {
  return graph.nodes.filter((n) => n.opType === 'BatchNormalization').map((n) => counterName(n.inputs[3]));
}

/** The checkpoint as a state_dict: float tensors as float32, `num_batches_tracked` as counters. */
export function stateFromWeights(graph: ArchitectureGraph, weights: ReadonlyMap<string, TensorBytes>): ModelState {
  const state: ModelState = { tensors: new Map(), counters: new Map() };
  for (const init of graph.initializers) {
    if (init.name.endsWith('num_batches_tracked')) continue;
    const bytes = weights.get(init.name) ?? (init.aliasOf !== undefined ? weights.get(init.aliasOf) : undefined);
    if (bytes) state.tensors.set(init.name, { shape: [...bytes.shape], data: toFloat32Array(hostTensorFromBytes(bytes.dtype, bytes.shape, bytes.data)) });
  }
  for (const name of counterNames(graph)) {
    const bytes = weights.get(name);
    // A checkpoint without it (e.g. an ONNX export) starts the count at 0, as a fresh model does.
    state.counters.set(name, bytes ? Number(hostTensorFromBytes(bytes.dtype, bytes.shape, bytes.data).data[0]) : 0);
  }
  return state;
}

function lazy(name: string, dtype: LazyTensor['dtype'], shape: readonly number[], data: ArrayBufferView): LazyTensor {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return {
    name,
    dtype,
    shape,
    async *chunks() {
      yield bytes;
    },
  };
}

/**
 * The state_dict in the graph's initializer (state_dict) order with PyTorch names: float tensors
 * F32, each BatchNorm's `num_batches_tracked` I64 right after its running_var.
 */
export function stateDictTensors(graph: ArchitectureGraph, state: ModelState): LazyTensor[] {
  const out: LazyTensor[] = [];
  const written = new Set<string>();
  const counter = (name: string) => {
    if (written.has(name) || !state.counters.has(name)) return;
    written.add(name);
    out.push(lazy(name, 'I64', [], BigInt64Array.of(BigInt(state.counters.get(name) as number))));
  };
  for (const init of graph.initializers) {
    if (init.name.endsWith('num_batches_tracked')) {
      counter(init.name);
      continue;
    }
    const t = state.tensors.get(init.name);
    if (t) out.push(lazy(init.name, 'F32', t.shape, t.data));
    if (init.name.endsWith('running_var')) counter(init.name.replace(/running_var$/, 'num_batches_tracked'));
  }
  for (const name of state.counters.keys()) counter(name);
  return out;
}

