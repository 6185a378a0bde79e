import type { ArchitectureGraph } from '../graph/ir';
import { useBackend } from '../runtime/testing/runtime-testing';
import { recalibrateBatchNorm, type InputBatch } from './recalibrate-bn';
import type { StateTensor } from './trainable-graph';

/** x (N×2×1×2) → 1×1 conv (2 → 2 channels, no bias) → BatchNorm → y. */
function convBnGraph(): ArchitectureGraph {
  return {
    name: 'conv-bn',
    opset: 17,
    inputs: [{ name: 'x', dtype: 'F32', shape: ['batch', 2, 1, 2] }],
    outputs: [{ name: 'y', dtype: 'F32', shape: ['batch', 2, 1, 2] }],
    initializers: [
      { name: 'conv.weight', dtype: 'F32', shape: [2, 2, 1, 1], isParameter: true },
      { name: 'bn.weight', dtype: 'F32', shape: [2], isParameter: true },
      { name: 'bn.bias', dtype: 'F32', shape: [2], isParameter: true },
      { name: 'bn.running_mean', dtype: 'F32', shape: [2], isParameter: false },
      { name: 'bn.running_var', dtype: 'F32', shape: [2], isParameter: false },
    ],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'conv.weight'], outputs: ['c'], attributes: { kernel_shape: [1, 1] } },
      { name: 'bn', opType: 'BatchNormalization', inputs: ['c', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], outputs: ['y'], attributes: { epsilon: 1e-5, momentum: 0.9 } },
    ],
  };
}

const W = [1, 2, -1, 0.5]; // conv.weight[o][i]

function state(): Map<string, StateTensor> {
  return new Map<string, StateTensor>([
    ['conv.weight', { shape: [2, 2, 1, 1], data: Float32Array.from(W) }],
    ['bn.weight', { shape: [2], data: Float32Array.from([1.5, 0.5]) }],
    ['bn.bias', { shape: [2], data: Float32Array.from([0.1, -0.2]) }],
    // Stale statistics that recalibration must throw away.
    ['bn.running_mean', { shape: [2], data: Float32Array.from([7, -7]) }],
    ['bn.running_var', { shape: [2], data: Float32Array.from([40, 0.01]) }],
  ]);
}

/** Batches of different sizes (3, 2, 4 examples), N×2×1×2. */
function batches(): InputBatch[] {
  return [3, 2, 4].map((n, b) => ({ shape: [n, 2, 1, 2], inputs: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(7 * b + i) * (b + 1) + b) }));
}

/** The conv output's per-channel batch mean and unbiased variance, computed by hand in float64. */
function batchMoments(batch: InputBatch): { mean: number[]; variance: number[] } {
  const n = batch.shape[0];
  const values: number[][] = [[], []];
  for (let e = 0; e < n; e++) {
    for (let p = 0; p < 2; p++) {
      const x0 = batch.inputs[e * 4 + p];
      const x1 = batch.inputs[e * 4 + 2 + p];
      for (let o = 0; o < 2; o++) values[o].push(W[o * 2] * x0 + W[o * 2 + 1] * x1);
    }
  }
  const mean = values.map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  const variance = values.map((v, o) => v.reduce((a, b) => a + (b - mean[o]) ** 2, 0) / (v.length - 1));
  return { mean, variance };
}

describe.each(['cpu', 'wasm'] as const)('recalibrateBatchNorm (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('sets running_mean and running_var to the averages of the batch means and unbiased variances, and counts the batches', async () => {
    const done: number[] = [];
    const result = await recalibrateBatchNorm(convBnGraph(), state(), batches(), { onBatch: (k) => void done.push(k) });
    const moments = batches().map(batchMoments);
    const average = (pick: (m: { mean: number[]; variance: number[] }) => number[], c: number) => moments.reduce((a, m) => a + pick(m)[c], 0) / moments.length;
    for (let c = 0; c < 2; c++) {
      expect(result.tensors.get('bn.running_mean')!.data[c]).toBeCloseTo(average((m) => m.mean, c), 5);
      expect(result.tensors.get('bn.running_var')!.data[c]).toBeCloseTo(average((m) => m.variance, c), 4);
    }
    expect([...result.tensors.keys()].sort()).toEqual(['bn.running_mean', 'bn.running_var']);
    expect(result.counters.get('bn.num_batches_tracked')).toBe(3);
    expect(done).toEqual([1, 2, 3]);
  });

  it('gives the single batch its own statistics, whatever the stale ones, and refuses no batch at all', async () => {
    const [first] = batches();
    const result = await recalibrateBatchNorm(convBnGraph(), state(), [first]);
    const { mean, variance } = batchMoments(first);
    expect(Array.from(result.tensors.get('bn.running_mean')!.data)).toEqual(mean.map((m) => expect.closeTo(m, 5)));
    expect(Array.from(result.tensors.get('bn.running_var')!.data)).toEqual(variance.map((v) => expect.closeTo(v, 4)));
    await expect(recalibrateBatchNorm(convBnGraph(), state(), [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('stops between batches once the signal is aborted', async () => {
    const controller = new AbortController();
    const run = recalibrateBatchNorm(convBnGraph(), state(), batches(), { signal: controller.signal, onBatch: () => controller.abort(new Error('cancelled')) });
    await expect(run).rejects.toThrow('cancelled');
  });
});
