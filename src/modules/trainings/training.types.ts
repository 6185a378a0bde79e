import type { TrainingConfig } from '../../core/train/training-config';

/** Job type of training runs. */
export const TRAINING_JOB = 'training.run';

/** Checkpoint kinds a training stores: the models it saves, and its resumable state. */
export const TRAINED_CHECKPOINT_KIND = 'trained';
export const TRAINING_STATE_CHECKPOINT_KIND = 'training-state';

/** What a run does besides the steps: evaluation and saving, every so many epochs (0: at the end only). */
export interface TrainingSchedule {
  /** Evaluate on the dataset's validation split every this many epochs (0: never during the run). */
  evaluateEvery: number;
  /** Store a `trained` checkpoint every this many epochs; the final model is always stored. */
  saveEvery: number;
  /** Which split evaluations use. */
  evaluationSplit: 'validation' | 'test';
}

/** The stored configuration of a run. */
export interface TrainingSettings extends TrainingSchedule {
  training: TrainingConfig;
}

/** The latest step of a run, as it reports progress. */
export interface TrainingProgress {
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  imagesPerSecond: number;
}

/** One finished epoch: mean training loss and accuracy over its steps, and the evaluation if one ran. */
export interface CurvePoint {
  epoch: number;
  step: number;
  loss: number;
  accuracy: number;
  evaluation: { split: string; top1: number; top5: number | null; loss: number } | null;
}

/** A row of `trainings`. */
export interface Training {
  id: string;
  name: string;
  architectureId: string;
  startCheckpointId: string | null;
  initializationId: string | null;
  datasetId: string;
  settings: TrainingSettings;
  jobId: string | null;
  stateCheckpointId: string | null;
  progress: TrainingProgress | null;
  curve: CurvePoint[];
  savedCheckpointIds: string[];
  createdAt: Date;
}

export type NewTraining = Pick<Training, 'name' | 'architectureId' | 'startCheckpointId' | 'initializationId' | 'datasetId' | 'settings'>;

export interface TrainingFilter {
  datasetId?: string;
  startCheckpointId?: string;
}

export type TrainingStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A training as the API reports it: the row and its job's status. */
export interface TrainingView {
  training: Training;
  status: TrainingStatus;
  error: { code: string; message: string } | null;
}

export interface TrainingJobPayload {
  trainingId: string;
}

export interface TrainingJobResult {
  trainingId: string;
  checkpointId: string;
}
