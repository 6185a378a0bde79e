import type { SoupMethod, SoupParametersInput } from '../../core/averaging';
import type { ClassificationMetrics } from '../../core/train/classification-metrics';
import type { EvaluationOptions, EvaluationSplit } from '../evaluations/evaluation.types';
import type { JobStatus } from '../jobs/job.types';

/** Job type of soups. */
export const SOUP_JOB = 'soup';
/** Kind of the checkpoints soups make. */
export const SOUP_CHECKPOINT_KIND = 'soup';

/** An engine method, or `greedy`: candidates kept one by one while the uniform soup of the kept set scores higher. */
export type SoupRequestMethod = SoupMethod | 'greedy';

/** BatchNorm after averaging: keep the averaged running statistics, recompute them on training batches, or REPAIR (not available yet). */
export const BATCH_NORM_POLICIES = ['keep', 'recalibrate', 'repair'] as const;
export type BatchNormPolicy = (typeof BATCH_NORM_POLICIES)[number];
/** The policies a soup can run with. */
export type AppliedBatchNormPolicy = Exclude<BatchNormPolicy, 'repair'>;

/** The resolved recipe stored with a soup: enough to make it again. */
export interface StoredRecipe {
  method: SoupRequestMethod;
  checkpointIds: string[];
  baseCheckpointId: string | null;
  /** Engine methods: the parameters after defaults (weights, densities, lambda, ...). Greedy: { acceptTies }. */
  parameters: Record<string, unknown>;
  /** json, or mergekit-yaml when the request gave a mergekit recipe (kept as `yaml`). */
  source: 'json' | 'mergekit-yaml';
  yaml?: string;
}

export type SoupScore = ClassificationMetrics;

/** What a finished soup reports. Scores are null without a dataset. */
export interface SoupReport {
  batchNorm: AppliedBatchNormPolicy;
  datasetId: string | null;
  split: EvaluationSplit | null;
  /** What the greedy soup ranks and compares by (top-1 accuracy on the split), null without a dataset. */
  metric: 'top1' | null;
  ingredients: { checkpointId: string; score: SoupScore | null }[];
  greedy: {
    /** Candidates by their own score, best first. */
    order: string[];
    steps: { checkpointId: string; top1: number; accepted: boolean }[];
    kept: string[];
    acceptTies: boolean;
  } | null;
  /** The soup made: its ingredients (greedy: the kept ones) and its score. */
  soup: { checkpointIds: string[]; score: SoupScore | null };
  /** The uniform soup of every ingredient, next to it. */
  uniform: { score: SoupScore } | null;
  bestIngredient: { checkpointId: string; score: SoupScore } | null;
}

export interface Soup {
  id: string;
  name: string | null;
  method: SoupRequestMethod;
  checkpointIds: string[];
  baseCheckpointId: string | null;
  /** As requested (weights included). */
  parameters: Record<string, unknown>;
  recipe: StoredRecipe;
  datasetId: string | null;
  split: EvaluationSplit | null;
  batchNormRequested: BatchNormPolicy | null;
  batchNormUsed: AppliedBatchNormPolicy;
  /** Scoring and recalibration: examples per forward pass, recalibration batches and their seed. */
  options: EvaluationOptions;
  report: SoupReport | null;
  jobId: string | null;
  resultCheckpointId: string | null;
  createdAt: Date;
}

export type NewSoup = Omit<Soup, 'id' | 'report' | 'jobId' | 'resultCheckpointId' | 'createdAt'>;

export interface SoupView {
  soup: Soup;
  status: JobStatus;
  progress: number;
  error: { code: string; message: string } | null;
}

export interface SoupJobPayload {
  soupId: string;
}

export interface SoupJobResult {
  soupId: string;
  checkpointId: string;
}

/** Engine parameters as a request gives them; checked by type here, by value in the engine. */
export type SoupParametersRequest = SoupParametersInput & { acceptTies?: boolean };
