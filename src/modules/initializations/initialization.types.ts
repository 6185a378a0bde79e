import type { BatchNormPolicy, InitMethod } from '../../core/init';

/** `ghn` predicts parameters with a graph hypernetwork; the others are PyTorch-style initializers. */
export const INITIALIZATION_METHODS = ['ghn', 'kaiming', 'torch-default', 'orthogonal'] as const;
export type InitializationMethod = (typeof INITIALIZATION_METHODS)[number];

export function isClassicalMethod(method: InitializationMethod): method is InitMethod {
  return method !== 'ghn';
}

/** Checkpoint kind of a computed initialization. */
export const INITIALIZATION_CHECKPOINT_KIND = 'initialization';

/** Job type of initializations too large to compute during the request. */
export const INITIALIZATION_JOB = 'initialization.compute';

/** The normalized options stored with an initialization (part of its cache key). */
export interface InitializationOptions {
  seed: number;
  batchNorm: BatchNormPolicy;
}

/** A row of `initializations`: one per distinct (architecture, GHN weights, method, options). */
export interface Initialization {
  id: string;
  cacheKey: string;
  architectureId: string;
  method: InitializationMethod;
  ghnId: string | null;
  options: InitializationOptions;
  /** Null while it is being computed. */
  checkpointId: string | null;
  jobId: string | null;
  createdAt: Date;
}

export type NewInitialization = Omit<Initialization, 'id' | 'checkpointId' | 'createdAt'>;

export interface InitializationFilter {
  architectureId?: string;
  method?: InitializationMethod;
}

export const INITIALIZATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type InitializationStatus = (typeof INITIALIZATION_STATUSES)[number];

/** An initialization as the API reports it. */
export interface InitializationView {
  initialization: Initialization;
  status: InitializationStatus;
  /** True when an earlier computation was reused (no computation for this request). */
  cached: boolean;
  error: { code: string; message: string } | null;
}
