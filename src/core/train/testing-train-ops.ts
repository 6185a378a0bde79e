import * as tf from '@tensorflow/tfjs-core';
import type { AttributeValue, GraphNode } from '../graph/ir';
import { randomStream } from '../init/seeded-random';
import { seededInput } from '../runtime/testing/runtime-testing';
import type { TrainOpContext } from './train-op-types';
import { TRAIN_OPS } from './train-ops';

/** A test node reading in0, in1, ... and writing `outputs` values. */
export function opNode(opType: string, inputs: number, attributes: Record<string, AttributeValue> = {}, outputs = 1): GraphNode {
  return {
    name: `test/${opType}`,
    opType,
    inputs: Array.from({ length: inputs }, (_, i) => `in${i}`),
    outputs: Array.from({ length: outputs }, (_, i) => `out${i}`),
    attributes,
  };
}

/**
 * An op input: a shape (seeded uniform [-1, 1) values, optionally mapped, e.g. to positive values
 * for Log), or fixed values (shapes, indices, bounds; not differentiated).
 */
export type InputSpec = number[] | { shape: number[]; map: (v: number) => number } | { fixed: number[]; shape: number[]; dtype?: 'float32' | 'int32' | 'bool' };

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-2). */
  h?: number;
  training?: boolean;
}

export function trainContext(training = true): TrainOpContext {
  return { training, batchNormUpdates: [], random: (name) => randomStream(5, name) };
}

/**
 * Checks an op's backward against central finite differences of L = Σ_k Σ y_k·r_k (r_k random,
 * over the node's outputs) for the inputs listed in `wrt`, on every element. Linear ops agree up to
 * float32 rounding; `tolerance` is relative to the largest numeric gradient.
 */
export function gradCheck(n: GraphNode, specs: InputSpec[], wrt: number[], tolerance: number, options: GradCheckOptions = {}): void {
  const h = options.h ?? 1e-2;
  const op = TRAIN_OPS[n.opType];
  const values = specs.map((s, i) => {
    if (Array.isArray(s)) return seededInput(s, 11 + i).data as Float32Array;
    if ('map' in s) return (seededInput(s.shape, 11 + i).data as Float32Array).map(s.map);
    return Float32Array.from(s.fixed);
  });
  const shapeOf = (s: InputSpec): number[] => (Array.isArray(s) ? s : s.shape);
  const dtypeOf = (s: InputSpec) => (!Array.isArray(s) && 'fixed' in s ? (s.dtype ?? 'float32') : 'float32');
  const tensors = (vals: Float32Array[]): tf.Tensor[] => vals.map((v, i) => tf.tensor(Array.from(v), shapeOf(specs[i]), dtypeOf(specs[i])));
  const lossOf = (vals: Float32Array[], rs: tf.Tensor[]): number =>
    tf.tidy(() => {
      const ys = op.forward(n, tensors(vals), trainContext(options.training)).outputs;
      return rs.reduce((total, r, k) => total + tf.sum(tf.mul(ys[k], r)).dataSync()[0], 0);
    });
  tf.tidy(() => {
    const inputs = tensors(values);
    const forward = op.forward(n, inputs, trainContext(options.training));
    const rs = n.outputs.map((_, k) => tf.tensor(seededInput(forward.outputs[k].shape, 99 + k).data as Float32Array, forward.outputs[k].shape));
    const grads = op.backward!(n, inputs, forward, rs);
    for (const k of wrt) {
      const grad = grads[k];
      if (grad === undefined || grad.shape.join() !== shapeOf(specs[k]).join()) throw new Error(`${n.opType} input ${k}: gradient shape [${grad?.shape.join(', ')}]`);
      const analytic = grad.dataSync();
      let worst = 0;
      let scale = 0;
      for (let e = 0; e < values[k].length; e++) {
        const shifted = (d: number) => values.map((v, i) => (i === k ? v.map((x, j) => (j === e ? x + d : x)) : v));
        const numeric = (lossOf(shifted(h), rs) - lossOf(shifted(-h), rs)) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - analytic[e]));
        scale = Math.max(scale, Math.abs(numeric));
      }
      if (!(scale > 0)) throw new Error(`${n.opType} input ${k}: the numeric gradient is zero everywhere, so the check proves nothing`);
      if (!(worst <= tolerance * scale)) throw new Error(`${n.opType} input ${k}: max gradient error ${worst} (scale ${scale})`);
    }
  });
}
