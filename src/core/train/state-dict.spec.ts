import { stateDictEntries, trainingStateOf } from './state-dict';

describe('training state ↔ state_dict', () => {
  it('reads counters from int64 and floats from any float dtype, and writes them back as PyTorch does', () => {
    const weight = Float32Array.of(1.5, -2);
    const tensors = new Map([
      ['fc.weight', { dtype: 'F32' as const, shape: [1, 2], data: new Uint8Array(weight.buffer) }],
      ['bn.running_mean', { dtype: 'F64' as const, shape: [1], data: new Uint8Array(Float64Array.of(0.25).buffer) }],
      ['bn.num_batches_tracked', { dtype: 'I64' as const, shape: [], data: new Uint8Array(BigInt64Array.of(7n).buffer) }],
    ]);
    const state = trainingStateOf(tensors);
    expect([...state.tensors.get('fc.weight')!.data]).toEqual([1.5, -2]);
    expect([...state.tensors.get('bn.running_mean')!.data]).toEqual([0.25]);
    expect(state.counters.get('bn.num_batches_tracked')).toBe(7);
    const entries = stateDictEntries(state);
    expect(entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      ['bn.num_batches_tracked', 'I64', []],
      ['bn.running_mean', 'F32', [1]],
      ['fc.weight', 'F32', [1, 2]],
    ]);
    expect(new BigInt64Array(entries[0].data.slice().buffer)[0]).toBe(7n);
  });
});
