import type { ClassificationMetrics } from '../../core/train/classification-metrics';
import type { JobStatus } from '../jobs/job.types';

export const EVALUATION_JOB = 'evaluation';
export const EVALUATION_SPLITS = ['train', 'validation', 'test'] as const;
export type EvaluationSplit = (typeof EVALUATION_SPLITS)[number];
export const BATCH_NORM_MODES = ['eval', 'recalibrate'] as const;
export type BatchNormMode = (typeof BATCH_NORM_MODES)[number];

export interface EvaluationOptions {
  /** Examples per forward pass (evaluation and recalibration). */
  batchSize: number;
  /** recalibrate: training batches the BatchNorm statistics are recomputed on. */
  recalibrateBatches: number;
  /** recalibrate: seed of the order the training examples are drawn in. */
  seed: number;
}

export const DEFAULT_EVALUATION_OPTIONS: EvaluationOptions = { batchSize: 128, recalibrateBatches: 20, seed: 0 };

export interface EvaluationResult extends ClassificationMetrics {
  checkpointId: string;
  createdAt: Date;
}

export interface EvaluationRecord {
  id: string;
  datasetId: string;
  split: EvaluationSplit;
  batchNorm: BatchNormMode;
  options: EvaluationOptions;
  checkpointIds: string[];
  jobId: string | null;
  createdAt: Date;
  results: EvaluationResult[];
}

export type NewEvaluation = Pick<EvaluationRecord, 'datasetId' | 'split' | 'batchNorm' | 'options' | 'checkpointIds'>;

/** An evaluation with the state of its job. */
export interface EvaluationView {
  evaluation: EvaluationRecord;
  status: JobStatus;
  progress: number;
  error: { code: string; message: string } | null;
}
