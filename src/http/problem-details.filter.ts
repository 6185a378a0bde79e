import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter, type StreamableFile } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { CoreError } from '../core/errors';
import { BlobTooLargeError } from '../core/storage/blob-store.port';
import { currentRequestId } from '../infra/logging/request-context';
import { ServiceError } from '../core/service-error';
import { prepareErrorHeaders } from './error-headers';
import { statusOf, type ErrorCode } from './error-status.map';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  errors?: unknown;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

function httpCode(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
    400: 'VALIDATION_FAILED', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE', 429: 'RATE_LIMITED', 503: 'SERVICE_UNAVAILABLE',
  };
  return byStatus[status] ?? 'INTERNAL';
}

/** Turns any error into the one RFC 9457-style envelope; internal details never reach clients. */
export function toProblem(error: unknown): ProblemBody {
  let code: string;
  let detail: string;
  let status: number;
  let extra: Record<string, unknown> = {};
  if (error instanceof ServiceError || error instanceof CoreError) {
    code = error.code;
    status = statusOf(code);
    detail = error.message;
    if (error.details) extra = { details: error.details };
  } else if (error instanceof BlobTooLargeError) {
    code = 'UPLOAD_TOO_LARGE';
    status = 413;
    detail = error.message;
  } else if (error instanceof HttpException) {
    status = error.getStatus();
    code = httpCode(status);
    const body = error.getResponse();
    detail = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? error.message);
    if (Array.isArray((body as { message?: unknown }).message)) {
      extra = { errors: (body as { message: unknown[] }).message };
      detail = 'Request validation failed';
    }
  } else if (isBodyParserError(error)) {
    status = error.status;
    if (status === 413) {
      code = 'PAYLOAD_TOO_LARGE';
      detail = 'request body exceeds the configured limit';
    } else if (status === 415) {
      code = 'UNSUPPORTED_MEDIA_TYPE';
      detail = 'unsupported request body encoding';
    } else {
      status = 400;
      code = 'VALIDATION_FAILED';
      detail = error.type === 'entity.parse.failed' ? 'request body is not valid JSON' : 'request body could not be read';
    }
  } else {
    status = 500;
    code = 'INTERNAL';
    detail = 'Internal server error';
  }
  return {
    type: `urn:weightsmith:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    requestId: currentRequestId(),
    ...extra,
  };
}

/** Errors raised by the JSON body parser (body-parser / raw-body) carry `type: 'entity.*'` or similar and a 4xx status. */
function isBodyParserError(e: unknown): e is { status: number; type: string } {
  if (typeof e !== 'object' || e === null) return false;
  const { status, type } = e as { status?: unknown; type?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && typeof type === 'string' && /^(entity\.|request\.|encoding\.|charset\.|stream\.)/.test(type);
}

/**
 * Error handler for a StreamableFile whose stream fails: before the first byte, the usual problem
 * (without the success headers the handler had set); after it, the connection is cut so that a
 * truncated file never looks complete (unless the stream had ended: every byte was handed over).
 */
export function streamFailureHandler(stream: Readable): Parameters<StreamableFile['setErrorHandler']>[0] {
  const logger = new Logger('HTTP');
  return (error, response) => {
    // The handler is given the platform's response: Express's here.
    const res = response as unknown as Response;
    if (res.destroyed) return;
    logger.error({ msg: 'response stream failed', error: error.message, stack: error.stack });
    if (res.headersSent) {
      if (stream.readableEnded) res.end();
      else res.destroy();
      return;
    }
    const problem = toProblem(error);
    prepareErrorHeaders(res, problem.status, undefined);
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  };
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const problem = toProblem(error);
    if (problem.status >= 500) {
      this.logger.error({ msg: 'request failed', method: req.method, path: req.path, error: (error as Error)?.message, stack: (error as Error)?.stack });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    prepareErrorHeaders(res, problem.status, problem.details as Record<string, unknown> | undefined);
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }
}
