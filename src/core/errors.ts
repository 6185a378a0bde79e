/**
 * Errors raised by framework-free code. Each carries a stable machine-readable code that the
 * HTTP layer maps to a status (see src/http/error-status.map.ts) and the CLI prints verbatim.
 */
export const CORE_ERROR_CODES = [
  // safetensors
  'SAFETENSORS_TRUNCATED',
  'SAFETENSORS_HEADER_TOO_LARGE',
  'SAFETENSORS_HEADER_OUT_OF_BOUNDS',
  'SAFETENSORS_HEADER_INVALID_JSON',
  'SAFETENSORS_HEADER_INVALID',
  'SAFETENSORS_UNKNOWN_DTYPE',
  'SAFETENSORS_OFFSETS_INVALID',
  'SAFETENSORS_SHAPE_MISMATCH',
  'SAFETENSORS_DUPLICATE_TENSOR',
  'SAFETENSORS_EMPTY',
  // torch / pickle
  'PICKLE_FORBIDDEN_GLOBAL',
  'PICKLE_INVALID',
  'TORCH_FORMAT_INVALID',
  'TORCH_UNSUPPORTED',
  'CHECKPOINT_TOO_LARGE',
  // onnx
  'ONNX_INVALID',
  'ONNX_EXTERNAL_DATA_MISSING',
  // general
  'UNSUPPORTED_FORMAT',
  'TENSOR_NOT_FOUND',
  'INVALID_ARGUMENT',
  'GHN_GRAPH_UNSUPPORTED',
  'GHN_UNSUPPORTED',
  'ZOO_UNKNOWN_MODEL',
  'GRAPH_INVALID',
  'GRAPH_CYCLE',
  'GRAPH_UNKNOWN_OP',
  'INFERENCE_FAILED',
  'DOWNLOAD_FAILED',
  'CHECKSUM_MISMATCH',
  // datasets
  'DATASET_INVALID',
  'DATASET_EMPTY',
  'DATASET_LABELS_INVALID',
  'DATASET_TOO_LARGE',
  'DATASET_ARCHIVE_INVALID',
  'DATASET_IMAGE_INVALID',
  'DATASET_BUILTIN_UNKNOWN',
  'DATASET_BUILTIN_UNAVAILABLE',
  // training
  'TRAINING_OPTIONS_INVALID',
  'TRAINING_DATA_MISMATCH',
  'TRAINING_DIVERGED',
  'TRAINING_SNAPSHOT_INVALID',
  // soups and merges
  'SOUP_INGREDIENTS_EMPTY',
  'SOUP_INGREDIENTS_INCOMPATIBLE',
  'SOUP_WEIGHTS_INVALID',
  'SOUP_PARAMETERS_INVALID',
  'SOUP_RECIPE_INVALID',
] as const;

export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

export class CoreError extends Error {
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CoreError';
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return e instanceof CoreError;
}

/** An error as it crosses a worker-thread boundary (structured-cloneable). */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

/** Any thrown value as a WireError, keeping a CoreError's code and details. */
export function toWireError(e: unknown): WireError {
  const error = e instanceof Error ? e : new Error(String(e));
  return isCoreError(e) ? { name: error.name, message: error.message, code: e.code, details: e.details } : { name: error.name, message: error.message };
}
