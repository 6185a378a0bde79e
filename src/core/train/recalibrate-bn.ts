import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import { counterName, TrainableGraph, type StateTensor } from './trainable-graph';

/** One batch of model inputs (already normalized), N×C×H×W float32. */
export interface InputBatch {
  readonly shape: readonly number[];
  readonly inputs: Float32Array;
}

/** The recalibrated BatchNorm state: running_mean and running_var by name, and num_batches_tracked. */
export interface RecalibratedBatchNorm {
  tensors: Map<string, StateTensor>;
  counters: Map<string, number>;
}

/** Each BatchNorm's running statistics by state_dict name. */
export function batchNormBuffers(graph: ArchitectureGraph): { mean: string; variance: string }[] {
  return graph.nodes.filter((n) => n.opType === 'BatchNormalization').map((n) => ({ mean: n.inputs[3], variance: n.inputs[4] }));
}

/**
 * Recomputes every BatchNorm's running statistics from `batches`, as PyTorch's
 * `torch.optim.swa_utils.update_bn` does: `reset_running_stats` first (running_mean 0,
 * running_var 1, num_batches_tracked 0), then one training-mode forward per batch with momentum
 * None, i.e. the k-th batch (from 1) weighted 1/k: running_mean ends as the plain average of the
 * batch means and running_var as that of the unbiased batch variances, and num_batches_tracked
 * counts the batches. Parameters are untouched. Runs on the active TF.js backend; `onBatch` (after
 * each batch) may report progress, and an aborted `signal` stops between batches.
 */
export async function recalibrateBatchNorm(
  graph: ArchitectureGraph,
  state: ReadonlyMap<string, StateTensor>,
  batches: Iterable<InputBatch> | AsyncIterable<InputBatch>,
  opts: { signal?: AbortSignal; onBatch?: (done: number) => void | Promise<void> } = {},
): Promise<RecalibratedBatchNorm> {
  const buffers = batchNormBuffers(graph);
  const fresh = new Map(state);
  const shapeOf = (name: string): number[] => {
    const init = graph.initializers.find((i) => i.name === name);
    if (!init) throw new CoreError('GRAPH_INVALID', `BatchNorm statistic '${name}' is not an initializer of the graph`, { name });
    return init.shape;
  };
  for (const { mean, variance } of buffers) {
    const channels = shapeOf(mean).reduce((a, b) => a * b, 1);
    fresh.set(mean, { shape: shapeOf(mean), data: new Float32Array(channels) });
    fresh.set(variance, { shape: shapeOf(variance), data: new Float32Array(channels).fill(1) });
  }
  const trainable = new TrainableGraph(graph, fresh, new Map(buffers.map((b) => [counterName(b.mean), 0])));
  try {
    let k = 0;
    for await (const batch of batches) {
      opts.signal?.throwIfAborted();
      const input = tf.tensor(batch.inputs, [...batch.shape], 'float32');
      try {
        trainable.forwardTraining(input, { batchNormMomentum: 1 / (k + 1) });
      } finally {
        input.dispose();
      }
      k++;
      await opts.onBatch?.(k);
    }
    if (k === 0) throw new CoreError('INVALID_ARGUMENT', 'BatchNorm recalibration needs at least one batch');
    const { tensors, counters } = trainable.stateDict();
    const names = new Set(buffers.flatMap((b) => [b.mean, b.variance]));
    return { tensors: new Map([...tensors].filter(([name]) => names.has(name))), counters };
  } finally {
    trainable.dispose();
  }
}
