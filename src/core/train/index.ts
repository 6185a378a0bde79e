export { AdamCm, type AdamCmOptions } from './adam-cm';
export { augmentBatch, epochPermutation } from './augment';
export { evaluateGraph, evaluateTrainable, type EvaluationResult } from './evaluate';
export { counterNames, stateDictTensors, stateFromWeights } from './model-state';
export type { Optimizer, OptimizerState, ParamArrays } from './optimizer-types';
export { Adam, AdamW, Sgd, type AdamOptions, type SgdOptions } from './optimizers';
export { DEFAULT_WARMUP_START_FACTOR, learningRateAt } from './schedules';
export { TrainableGraph, untrainableOps, type StateTensor } from './trainable-graph';
export { checkTrainingData, Trainer, type ModelState, type StepReport, type TrainingData } from './trainer';
export { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT, type TrainerSnapshot } from './trainer-snapshot';
export {
  createOptimizer,
  OPTIMIZER_NAMES,
  parseTrainingConfig,
  SCHEDULE_NAMES,
  trainingConfigHash,
  type AugmentConfig,
  type OptimizerConfig,
  type OptimizerName,
  type ScheduleConfig,
  type ScheduleName,
  type TrainingConfig,
} from './training-config';
