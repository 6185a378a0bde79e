/**
 * Errors thrown by feature services. Each code maps to one HTTP status in
 * src/http/error-status.map.ts (an exhaustive table), so services never speak HTTP.
 */
export const SERVICE_ERROR_CODES = [
  'NOT_FOUND',
  'CHECKPOINT_NOT_FOUND',
  'CHECKPOINT_IN_USE',
  'TENSOR_NOT_FOUND',
  'ARCHITECTURE_NOT_FOUND',
  'ARCHITECTURE_IN_USE',
  'ARCHITECTURE_NOT_EXECUTABLE',
  'GHN_NOT_FOUND',
  'GHN_NAME_TAKEN',
  'GHN_IN_USE',
  'GHN_INVALID',
  'INITIALIZATION_NOT_FOUND',
  'DATASET_NOT_FOUND',
  'DATASET_IN_USE',
  'DATASET_MODEL_MISMATCH',
  'EVALUATION_NOT_FOUND',
  'EVALUATION_INVALID',
  'EVALUATION_IN_PROGRESS',
  'SOUP_NOT_FOUND',
  'SOUP_DATASET_REQUIRED',
  'SOUP_BATCHNORM_UNSUPPORTED',
  'CHECKPOINT_NOT_EXPORTABLE',
  'CHECKPOINT_ARCHITECTURE_MISMATCH',
  'GRAPH_RENDER_TIMEOUT',
  'DEPLOYMENT_NOT_FOUND',
  'DEPLOYMENT_NAME_TAKEN',
  'DEPLOYMENT_INVALID',
  'INFERENCE_QUEUE_FULL',
  'JOB_NOT_FOUND',
  'JOB_NOT_CANCELLABLE',
  'API_KEY_NOT_FOUND',
  'API_KEY_LAST_ADMIN',
  'VALIDATION_FAILED',
  'INVALID_FIELD',
  'MULTIPART_INVALID',
  'FILE_MISSING',
  'FILE_EMPTY',
  'UPLOAD_TOO_LARGE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RANGE_NOT_SATISFIABLE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'TRAINING_NOT_FOUND',
  'TRAINING_ACTIVE',
  'TRAINING_START_FAILED',
  'INTERNAL',
] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
