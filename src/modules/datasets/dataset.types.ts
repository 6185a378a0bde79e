import type { Dataset as CoreDataset, DatasetSplits, Normalization } from '../../core/datasets';

/** Where a dataset came from. */
export const DATASET_SOURCES = ['upload-safetensors', 'upload-archive', 'builtin:fashion-mnist', 'builtin:mnist'] as const;
export type DatasetSource = (typeof DATASET_SOURCES)[number];

export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** A dataset's split rule: the seed and per-class fractions that `splitDataset` turns into indices. */
export interface SplitRule {
  seed: number;
  validation: number;
  test: number;
}

/** A stored dataset (its row). */
export interface DatasetRecord {
  id: string;
  name: string;
  source: DatasetSource;
  shape: [number, number, number, number];
  inputDtype: 'F32' | 'U8';
  classCount: number;
  classNames: string[] | null;
  normalization: Normalization;
  split: SplitRule;
  splitSizes: SplitSizes;
  sha256: string;
  sizeBytes: number;
  createdAt: Date;
}

export type NewDataset = Omit<DatasetRecord, 'id' | 'createdAt'>;

/** What the dataset worker learns from the data (everything of the row but its name and blob). */
export type DatasetSummary = Omit<NewDataset, 'name' | 'sha256' | 'sizeBytes'>;

/** A stored dataset decoded for training and evaluation. Callers must not mutate the arrays. */
export interface LoadedDataset {
  record: DatasetRecord;
  dataset: CoreDataset;
  splits: DatasetSplits;
  normalization: Normalization;
}
