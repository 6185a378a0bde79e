import { MATH_OPS } from './train-ops-math';
import { batchNormOp } from './train-ops-nn';
import { convOp } from './train-ops-conv';
import { averagePoolOp, maxPoolOp } from './train-ops-pool';
import { REDUCE_OPS } from './train-ops-reduce';
import { SHAPE_OPS } from './train-ops-shape';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainOp } from './train-op-types';

export { unbroadcast } from './train-ops-math';

/**
 * Runs an op's forward and backward each in its own scope: only what they return (outputs, saved
 * tensors, BatchNorm updates, gradients) outlives them, so a training step holds no op's
 * temporaries (filter transposes, per-group slices, window taps) until its end.
 */
function scoped(op: TrainOp): TrainOp {
  const backward = op.backward;
  return {
    forward(node, inputs, ctx) {
      const before = ctx.batchNormUpdates.length;
      let hasSaved = false;
      const [outputs, saved] = tf.tidy(() => {
        const forward = op.forward(node, inputs, ctx);
        hasSaved = forward.saved !== undefined;
        return [forward.outputs, forward.saved ?? [], ctx.batchNormUpdates.slice(before).flatMap((u) => [u.newMean, u.newVariance])];
      });
      return { outputs, saved: hasSaved ? saved : undefined };
    },
    backward: backward && ((node, inputs, forward, dys) => tf.tidy(() => backward(node, inputs, forward, dys) as tf.Tensor[]) as (tf.Tensor | undefined)[]),
  };
}

/**
 * op type → forward and backward; the training executor runs exactly these ops. By family:
 * elementwise and activations (`train-ops-math.ts`), shapes and indexing (`train-ops-shape.ts`),
 * reductions, normalizations and matrix products (`train-ops-reduce.ts`), Conv, pooling, BatchNorm.
 */
const OPS: Record<string, TrainOp> = {
  ...MATH_OPS,
  ...SHAPE_OPS,
  ...REDUCE_OPS,
  Conv: convOp,
  BatchNormalization: batchNormOp,
  MaxPool: maxPoolOp,
  AveragePool: averagePoolOp,
};

export const TRAIN_OPS: Record<string, TrainOp> = Object.fromEntries(Object.entries(OPS).map(([type, op]) => [type, scoped(op)]));
