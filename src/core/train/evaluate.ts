import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch } from '../datasets/batch';
import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import { TrainableGraph } from './trainable-graph';
import type { ModelState, TrainingData } from './trainer';

export interface EvaluationResult {
  /** Fraction of examples whose top-scoring class is the label. */
  top1: number;
  /** Fraction whose label is among the five top-scoring classes (all classes when fewer than five). */
  top5: number;
  /** Mean cross-entropy (no label smoothing). */
  loss: number;
  count: number;
}

/** Eval-mode metrics of a loaded TrainableGraph on `data`, in batches of `batchSize`, in index order. */
export function evaluateTrainable(net: TrainableGraph, data: TrainingData, batchSize: number): EvaluationResult {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new CoreError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  const m = data.indices.length;
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  for (let from = 0; from < m; from += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, m - from) }, (_, i) => data.indices[from + i]);
    const batch = gatherBatch(data.dataset, indices, data.normalization);
    const x = tf.tensor(batch.inputs, batch.shape, 'float32');
    let logits: Float32Array;
    try {
      logits = net.evaluate(x);
    } finally {
      x.dispose();
    }
    const k = logits.length / indices.length;
    for (let i = 0; i < indices.length; i++) {
      const row = logits.subarray(i * k, (i + 1) * k);
      const label = batch.labels[i];
      const target = row[label];
      let above = 0;
      let max = -Infinity;
      for (let j = 0; j < k; j++) {
        if (row[j] > target || (row[j] === target && j < label)) above++;
        if (row[j] > max) max = row[j];
      }
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(row[j] - max);
      loss += Math.log(sum) + max - target;
      if (above === 0) top1++;
      if (above < 5) top5++;
    }
  }
  return { top1: top1 / m, top5: top5 / m, loss: loss / m, count: m };
}

/**
 * Eval-mode (running BatchNorm statistics) top-1, top-5 and mean cross-entropy of a graph with a
 * state_dict on `data`, batched. Ties between equal logits go to the lower class index.
 */
export function evaluateGraph(graph: ArchitectureGraph, state: ModelState, data: TrainingData, options: { batchSize: number }): EvaluationResult {
  const net = new TrainableGraph(graph, state.tensors, state.counters);
  try {
    return evaluateTrainable(net, data, options.batchSize);
  } finally {
    net.dispose();
  }
}
