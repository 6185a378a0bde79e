import { MATH_OPS } from './train-ops-math';
import { batchNormOp } from './train-ops-nn';
import { convOp } from './train-ops-conv';
import { averagePoolOp, maxPoolOp } from './train-ops-pool';
import { REDUCE_OPS } from './train-ops-reduce';
import { SHAPE_OPS } from './train-ops-shape';
import type { TrainOp } from './train-op-types';

export { unbroadcast } from './train-ops-math';

/**
 * op type → forward and backward; the training executor runs exactly these ops. By family:
 * elementwise and activations (`train-ops-math.ts`), shapes and indexing (`train-ops-shape.ts`),
 * reductions, normalizations and matrix products (`train-ops-reduce.ts`), Conv, pooling, BatchNorm.
 */
export const TRAIN_OPS: Record<string, TrainOp> = {
  ...MATH_OPS,
  ...SHAPE_OPS,
  ...REDUCE_OPS,
  Conv: convOp,
  BatchNormalization: batchNormOp,
  MaxPool: maxPoolOp,
  AveragePool: averagePoolOp,
};
