import type * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { GraphNode } from '../graph/ir';
import type { RandomStream } from '../init/seeded-random';

/** A BatchNorm's new running statistics, computed by a training-mode forward (applied after the step). */
export interface BatchNormUpdate {
  mean: string;
  variance: string;
  newMean: tf.Tensor;
  newVariance: tf.Tensor;
}

export interface TrainOpContext {
  training: boolean;
  /** Training-mode BatchNorms report their running-statistics updates here. */
  batchNormUpdates: BatchNormUpdate[];
  /** Overrides every BatchNorm's momentum (PyTorch's: the new batch's weight), e.g. 1/(k+1) for a cumulative average. */
  batchNormMomentum?: number;
  /**
   * A seeded stream per node for ops that draw random numbers in training mode (Dropout's mask).
   * The caller derives it from its seed and the step, so a run is reproducible; a training-mode
   * Dropout without it throws.
   */
  random?: (nodeName: string) => RandomStream;
}

export interface Forward {
  outputs: tf.Tensor[];
  /** Whatever the backward pass needs besides inputs and outputs (e.g. BatchNorm's normalized input). */
  saved?: tf.Tensor[];
}

/**
 * One op of the training executor, on logical (NCHW, PyTorch-layout) tensors with tfjs-core ops:
 * its forward, and its backward (the gradients of the inputs from those of the outputs; undefined
 * for inputs that take none, e.g. shapes). Backward passes use only forward kernels, so every
 * backend that runs the forward trains.
 */
export interface TrainOp {
  forward(node: GraphNode, inputs: (tf.Tensor | undefined)[], ctx: TrainOpContext): Forward;
  backward?(node: GraphNode, inputs: (tf.Tensor | undefined)[], forward: Forward, dys: (tf.Tensor | undefined)[]): (tf.Tensor | undefined)[];
}

export function ints(node: GraphNode, name: string, fallback: number[]): number[] {
  const v = node.attributes[name];
  return Array.isArray(v) ? (v as number[]) : fallback;
}

export function num(node: GraphNode, name: string, fallback: number): number {
  const v = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

/** An int list given as a constant input (opset ≥ 13) or, in older opsets, as an attribute. */
export function intsOf(node: GraphNode, inputs: (tf.Tensor | undefined)[], i: number, name: string): number[] | undefined {
  const t = inputs[i];
  if (t !== undefined) return Array.from(t.dataSync());
  const v = node.attributes[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

export function need(node: GraphNode, inputs: (tf.Tensor | undefined)[], i: number): tf.Tensor {
  const t = inputs[i];
  if (t === undefined) throw new CoreError('GRAPH_INVALID', `input ${i} of ${node.opType} node ${node.name} is missing`, { node: node.name });
  return t;
}

export function unsupported(node: GraphNode, why: string): CoreError {
  return new CoreError('GRAPH_UNKNOWN_OP', `${node.opType} node ${node.name}: ${why}`, { node: node.name, opType: node.opType });
}
