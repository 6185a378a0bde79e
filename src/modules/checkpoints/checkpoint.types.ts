import type { LazyTensor } from '../../core/formats/tensor-set';
import type { Dtype } from '../../core/tensor/dtypes';

export interface ManifestEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute offset of the tensor's bytes in the stored safetensors file. */
  byteOffset: number;
  byteLength: number;
}

/** Where the evaluation scores in a checkpoint's metrics (top1, top5, loss) came from. */
export interface MetricsSource {
  evaluationId: string;
  datasetId: string;
  split: string;
  batchNorm: string;
  /** Examples scored. */
  count: number;
  evaluatedAt: string;
}

/** One evaluation's score of a checkpoint, recorded by CheckpointsService.recordEvaluation. */
export interface EvaluationScore {
  top1: number;
  top5: number | null;
  loss: number;
  source: MetricsSource;
}

export interface Checkpoint {
  id: string;
  name: string;
  kind: string;
  format: string;
  originalFormat: string;
  sha256: string;
  sizeBytes: number;
  architectureId: string | null;
  tensorCount: number;
  parameterCount: number;
  manifest: ManifestEntry[];
  metadata: Record<string, unknown>;
  metrics: Record<string, number>;
  /** Set once an evaluation scored the checkpoint: where metrics.top1/top5/loss came from. */
  metricsSource: MetricsSource | null;
  tags: string[];
  parentIds: string[];
  createdAt: Date;
}

export interface NewCheckpoint {
  name: string;
  kind: string;
  originalFormat: string;
  sha256: string;
  sizeBytes: number;
  architectureId: string | null;
  manifest: ManifestEntry[];
  metadata: Record<string, unknown>;
  metrics: Record<string, number>;
  tags: string[];
  parentIds: string[];
}

export interface CheckpointFilter {
  tag?: string;
  architectureId?: string;
  name?: string;
  kind?: string;
}

/** A checkpoint made by the service itself from computed tensors. */
export interface ComputedCheckpoint {
  name: string;
  kind: string;
  tensors: readonly LazyTensor[];
  architectureId?: string | null;
  parentIds?: string[];
  tags?: string[];
  metrics?: Record<string, number>;
  /** Stored in the database record. */
  metadata?: Record<string, unknown>;
  /** Written into the safetensors header (`__metadata__`). */
  safetensorsMetadata?: Record<string, unknown>;
}

/** A checkpoint as lineage sees it: what it is and what it was made from. */
export interface LineageRecord {
  id: string;
  name: string;
  kind: string;
  parentIds: string[];
}

/** A checkpoint and, recursively, the checkpoints it was made from. */
export interface LineageNode {
  id: string;
  name: string;
  kind: string;
  parents: LineageNode[];
  /** True when this node has parents the tree does not show (depth or size bound, or a cycle). */
  truncated: boolean;
}
