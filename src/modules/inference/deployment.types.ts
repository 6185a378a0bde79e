import type { EngineKind } from '../../core/runtime';
import type { ModelSignature } from './model-signature';

export const ENGINE_CHOICES = ['auto', 'tfjs', 'onnxruntime'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** Deployment names are also model names in /v2 URLs. */
export const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The one version each deployment serves. */
export const MODEL_VERSION = '1';

export interface BatchingSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  dynamicBatching: boolean;
}

export interface NewDeployment extends Partial<BatchingSettings> {
  name: string;
  checkpointId: string;
  architectureId?: string;
  engine?: EngineChoice;
  backend?: string;
}

/** A loaded model (recorded in the deployments table and loaded again at every start). */
export interface Deployment {
  name: string;
  version: string;
  checkpointId: string;
  architectureId: string;
  engine: EngineKind;
  /** e.g. `tfjs-wasm`, `onnxruntime-cpu`. */
  engineName: string;
  backend: string;
  batching: BatchingSettings;
  signature: ModelSignature;
  loadMs: number;
  createdAt: Date;
}

export const BATCHING_DEFAULTS: BatchingSettings = { maxBatchSize: 8, maxQueueDelayMs: 2, maxQueueSize: 64, dynamicBatching: true };
