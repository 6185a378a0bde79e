import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CoreError } from '../../core/errors';
import { prepareErrorHeaders } from '../../http/error-headers';
import { statusOf } from '../../http/error-status.map';
import { ServiceError } from '../../core/service-error';

/**
 * Where the protocol's statuses differ from the /v1 table: a failing engine run is the server's
 * fault (500, as KServe answers), and shapes that pass the metadata check but not the graph are
 * the request's (400).
 */
const OIP_STATUS: Partial<Record<string, number>> = {
  INFERENCE_FAILED: 500,
  GRAPH_INVALID: 400,
  GRAPH_UNKNOWN_OP: 500,
};

export interface OipError {
  status: number;
  message: string;
}

/** Status and message of any error, as the Open Inference Protocol routes answer it. */
export function toOipError(error: unknown): OipError {
  if (error instanceof ServiceError || error instanceof CoreError) {
    return { status: OIP_STATUS[error.code] ?? statusOf(error.code), message: error.message };
  }
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const message = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? error.message);
    return { status: error.getStatus(), message };
  }
  return { status: 500, message: 'internal server error' };
}

/**
 * The inference routes' own envelope: `{ "error": "..." }` with the protocol's status, instead
 * of the problem-details body of /v1 (controller-scoped, so guard failures are rendered too).
 */
@Catch()
export class OipErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OIP');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const { status, message } = toOipError(error);
    if (status >= 500 && status !== 503) {
      this.logger.error({ msg: 'inference request failed', method: req.method, path: req.path, error: (error as Error)?.message, stack: (error as Error)?.stack });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    prepareErrorHeaders(res, status, error instanceof ServiceError || error instanceof CoreError ? error.details : undefined);
    if (status === 503) res.setHeader('Retry-After', '1');
    res.status(status).json({ error: message });
  }
}
