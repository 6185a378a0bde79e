import { createHash } from 'node:crypto';
import { BATCH_NORM_POLICIES, MAX_SEED, type BatchNormPolicy } from '../../core/init';
import { canonicalJson } from '../../core/graph/graph-hash';
import { ServiceError } from '../../core/service-error';
import { INITIALIZATION_METHODS, type InitializationMethod, type InitializationOptions } from './initialization.types';

/** The body of POST /v1/initializations (validated by the DTO, re-checked here for other callers). */
export interface CreateInitializationInput {
  architectureId: string;
  method: InitializationMethod;
  ghnId?: string;
  seed?: number;
  batchNorm?: BatchNormPolicy;
}

/** Fills the defaults (seed 0, batchNorm `fresh`) and refuses combinations that mean nothing. */
export function normalizeOptions(input: CreateInitializationInput): InitializationOptions {
  if (!(INITIALIZATION_METHODS as readonly string[]).includes(input.method)) {
    throw new ServiceError('VALIDATION_FAILED', `method must be one of ${INITIALIZATION_METHODS.join(', ')}`, { field: 'method' });
  }
  if (input.ghnId !== undefined && input.method !== 'ghn') {
    throw new ServiceError('VALIDATION_FAILED', `ghnId applies only to method ghn (got method ${input.method})`, { field: 'ghnId' });
  }
  const seed = input.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new ServiceError('VALIDATION_FAILED', 'seed must be an integer between 0 and 2^53 − 1', { field: 'seed' });
  }
  const batchNorm = input.batchNorm ?? 'fresh';
  if (!(BATCH_NORM_POLICIES as readonly string[]).includes(batchNorm)) {
    throw new ServiceError('VALIDATION_FAILED', `batchNorm must be one of ${BATCH_NORM_POLICIES.join(', ')}`, { field: 'batchNorm' });
  }
  return { seed, batchNorm };
}

export interface CacheKeyParts {
  architectureHash: string;
  /** sha256 of the GHN's stored weights, null for the other methods. */
  ghnWeightsSha256: string | null;
  /** The GHN's config ({impl, graph_builder, ctor_config}): the same weights may be run two ways. */
  ghnConfig: unknown;
  method: InitializationMethod;
  options: InitializationOptions;
}

/** sha256 over the canonical JSON of everything that determines the result. */
export function initializationCacheKey(parts: CacheKeyParts): string {
  const document = {
    v: 1,
    architecture: parts.architectureHash,
    ghn: parts.ghnWeightsSha256,
    ghnConfig: parts.ghnConfig ?? null,
    method: parts.method,
    options: parts.options,
  };
  return createHash('sha256').update('weightsmith.initialization\n').update(canonicalJson(document)).digest('hex');
}
