import * as tf from '@tensorflow/tfjs-core';
import { buildZooModel } from '../graph/zoo';
import { randomStream } from '../init/seeded-random';
import { randomWeights } from '../runtime/random-weights';
import { hostTensorOf, seededInput } from '../runtime/testing/runtime-testing';
import { TrainableGraph, type StateTensor } from './trainable-graph';

/** The smallest square input from `from` up that a zoo model builds for (strides and pools leave ≥ 1 pixel, ViT patches tile it). */
export function smallestImageSize(name: string, from = 1): number {
  for (let size = from; size <= 512; size++) {
    try {
      buildZooModel(name, { imageSize: size, numClasses: 10 });
      return size;
    } catch {
      // too small for this architecture
    }
  }
  throw new Error(`${name}: no input size up to 512 builds`);
}

export interface ZooTrainStep {
  loss: number;
  parameters: number;
  /** Parameters whose gradient holds a non-finite value. */
  nonFinite: string[];
  /** Parameters whose gradient is zero everywhere. */
  zero: string[];
  /** Parameters the step returned no gradient for. */
  missing: string[];
}

/**
 * One training step of a zoo model with seeded random weights, batch 2, 10 classes, at `imageSize`
 * (default: the smallest it accepts); the gradients checked for presence and finiteness. SqueezeNet's
 * classifier ends in a ReLU: with some seeds (3, for squeezenet1_0 at 32 px) every logit is dead
 * at random initialization and every gradient is exactly zero; seed 1 is not.
 */
export function zooTrainStep(name: string, imageSize = smallestImageSize(name)): ZooTrainStep {
  const graph = buildZooModel(name, { imageSize, numClasses: 10 });
  const weights = randomWeights(graph, { seed: 1 });
  const state = new Map<string, StateTensor>();
  for (const init of graph.initializers) {
    if (init.aliasOf !== undefined) continue;
    // randomWeights leaves the counters out; TrainableGraph wants every initializer in the state.
    if (init.name.endsWith('num_batches_tracked')) {
      state.set(init.name, { shape: init.shape, data: new Float32Array(1) });
      continue;
    }
    const t = hostTensorOf(weights, init.name);
    state.set(init.name, { shape: t.shape, data: t.data instanceof Float32Array ? t.data : Float32Array.from(Array.from(t.data as ArrayLike<number | bigint>, Number)) });
  }
  const model = new TrainableGraph(graph, state);
  try {
    const input = tf.tensor(seededInput([2, 3, imageSize, imageSize], 7).data as Float32Array, [2, 3, imageSize, imageSize]);
    const labels = tf.tensor1d([0, 2], 'int32');
    const result = model.trainStep(input, labels, 0.1, (node) => randomStream(9, node));
    input.dispose();
    labels.dispose();
    const names = model.parameterNames();
    return {
      loss: result.loss,
      parameters: names.length,
      nonFinite: names.filter((n) => result.grads.get(n)?.some((v) => !Number.isFinite(v))),
      zero: names.filter((n) => result.grads.get(n)?.every((v) => v === 0)),
      missing: names.filter((n) => !result.grads.has(n)),
    };
  } finally {
    model.dispose();
  }
}
