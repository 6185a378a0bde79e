import { Readable } from 'node:stream';
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
  type ArgumentsHost,
} from '@nestjs/common';
import { CORE_ERROR_CODES, CoreError } from '../core/errors';
import { BlobTooLargeError } from '../core/storage/blob-store.port';
import { requestContext } from '../infra/logging/request-context';
import { SERVICE_ERROR_CODES, ServiceError } from '../core/service-error';
import { ERROR_STATUS, statusOf } from './error-status.map';
import { ProblemDetailsFilter, streamFailureHandler, toProblem } from './problem-details.filter';

describe('toProblem', () => {
  it('maps a ServiceError through the status table, keeping its message and details', () => {
    expect(toProblem(new ServiceError('CHECKPOINT_NOT_FOUND', 'checkpoint 42 does not exist', { id: '42' }))).toEqual({
      type: 'urn:weightsmith:problem:CHECKPOINT_NOT_FOUND',
      title: 'Not Found',
      status: 404,
      detail: 'checkpoint 42 does not exist',
      code: 'CHECKPOINT_NOT_FOUND',
      requestId: undefined,
      details: { id: '42' },
    });
    const limited = toProblem(new ServiceError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 3 }));
    expect(limited).toMatchObject({ status: 429, title: 'Too Many Requests', details: { retryAfterSeconds: 3 } });
  });

  it('maps a CoreError with the status from the table', () => {
    const problem = toProblem(new CoreError('SAFETENSORS_HEADER_INVALID_JSON', 'header is not JSON', { offset: 8 }));
    expect(problem).toMatchObject({
      status: 422,
      title: 'Unprocessable Content',
      code: 'SAFETENSORS_HEADER_INVALID_JSON',
      detail: 'header is not JSON',
      details: { offset: 8 },
    });
    expect(toProblem(new CoreError('UNSUPPORTED_FORMAT', 'what is this'))).toMatchObject({ status: 415, code: 'UNSUPPORTED_FORMAT' });
    expect(toProblem(new CoreError('INVALID_ARGUMENT', 'bad'))).not.toHaveProperty('details');
  });

  it('maps BlobTooLargeError to 413 UPLOAD_TOO_LARGE', () => {
    expect(toProblem(new BlobTooLargeError(1024))).toMatchObject({
      status: 413,
      code: 'UPLOAD_TOO_LARGE',
      title: 'Payload Too Large',
      detail: 'upload exceeds the limit of 1024 bytes',
    });
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(toProblem(new NotFoundException())).toMatchObject({ status: 404, code: 'NOT_FOUND', title: 'Not Found', detail: 'Not Found' });
    expect(toProblem(new NotFoundException('no route GET /x'))).toMatchObject({ status: 404, detail: 'no route GET /x' });
    expect(toProblem(new ForbiddenException())).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(toProblem(new PayloadTooLargeException())).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(toProblem(new HttpException('plain text body', 405))).toMatchObject({ status: 405, code: 'INTERNAL', title: 'Method Not Allowed', detail: 'plain text body' });
  });

  it('turns a BadRequestException with a message array into a validation problem listing the errors', () => {
    const problem = toProblem(new BadRequestException(['limit must be an integer', 'name should not be empty']));
    expect(problem).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'Request validation failed',
      errors: ['limit must be an integer', 'name should not be empty'],
    });
  });

  it('maps body-parser errors without echoing their internals', () => {
    const tooLarge = Object.assign(new Error('request entity too large: limit 1mb'), { status: 413, type: 'entity.too.large' });
    expect(toProblem(tooLarge)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'request body exceeds the configured limit' });
    expect(toProblem({ status: 413, type: 'entity.too.large' })).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const badJson = Object.assign(new SyntaxError('Unexpected token } in JSON at position 12'), { status: 400, type: 'entity.parse.failed' });
    expect(toProblem(badJson)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: 'request body is not valid JSON' });
  });

  it.each([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'secret')")],
    ['a string', 'boom'],
    ['null', null],
    ['undefined', undefined],
  ])('maps %s to a generic 500 INTERNAL that never leaks the message', (_what, error) => {
    const problem = toProblem(error);
    expect(problem).toEqual({
      type: 'urn:weightsmith:problem:INTERNAL',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal server error',
      code: 'INTERNAL',
      requestId: undefined,
    });
    expect(JSON.stringify(problem)).not.toMatch(/hunter2|ECONNREFUSED|secret|boom/);
  });

  it('includes the request id of the current request context', () => {
    const problem = requestContext.run({ requestId: 'req-123' }, () => toProblem(new ServiceError('FORBIDDEN', 'no')));
    expect(problem.requestId).toBe('req-123');
    expect(problem.status).toBe(403);
  });
});

describe('ERROR_STATUS', () => {
  it.each([...CORE_ERROR_CODES, ...SERVICE_ERROR_CODES])('gives %s a 4xx or 5xx status', (code) => {
    const status = ERROR_STATUS[code];
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(statusOf(code)).toBe(status);
  });

  it('has no entries for codes that do not exist, and maps unknown codes to 500', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...new Set<string>([...CORE_ERROR_CODES, ...SERVICE_ERROR_CODES])].sort());
    expect(statusOf('NO_SUCH_CODE')).toBe(500);
  });

  it('gives every mapped status a title in problem bodies', () => {
    for (const code of Object.keys(ERROR_STATUS)) {
      expect(toProblem(new ServiceError(code as never, 'x')).title).not.toBe('Error');
    }
  });
});

describe('ProblemDetailsFilter', () => {
  function fakeHost(headersSent = false) {
    const res = {
      headersSent,
      headers: {} as Record<string, string>,
      statusCode: 0,
      contentType: '',
      body: '',
      destroyed: false,
      setHeader(name: string, value: string) {
        this.headers[name] = value;
      },
      removeHeader(name: string) {
        delete this.headers[name];
      },
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      type(t: string) {
        this.contentType = t;
        return this;
      },
      send(body: string) {
        this.body = body;
        return this;
      },
      destroy() {
        this.destroyed = true;
      },
    };
    const req = { method: 'GET', path: '/v1/checkpoints' };
    const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => req }) };
    return { res, host: host as unknown as ArgumentsHost };
  }

  afterEach(() => jest.restoreAllMocks());

  it('sends the problem as application/problem+json, with Retry-After for rate limiting', () => {
    const { res, host } = fakeHost();
    new ProblemDetailsFilter().catch(new ServiceError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 7 }), host);
    expect(res.statusCode).toBe(429);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.headers['Retry-After']).toBe('7');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { retryAfterSeconds: 7 } });
  });

  it('drops the caching and representation headers a handler prepared before it failed', () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { res, host } = fakeHost();
    Object.assign(res.headers, {
      'Cache-Control': 'private, max-age=31536000, immutable',
      ETag: '"abc"',
      'Content-Disposition': 'attachment; filename="x.safetensors"',
      'Content-Range': 'bytes 0-9/100',
      'X-Request-Id': 'r1',
    });
    new ProblemDetailsFilter().catch(new ServiceError('INTERNAL', 'the bytes are missing'), host);
    expect(res.statusCode).toBe(500);
    expect(res.headers).toEqual({ 'Cache-Control': 'no-store', 'X-Request-Id': 'r1' });
  });

  it('answers 416 with the unsatisfied-range Content-Range', () => {
    const { res, host } = fakeHost();
    new ProblemDetailsFilter().catch(new ServiceError('RANGE_NOT_SATISFIABLE', 'outside', { size: 1234 }), host);
    expect(res.statusCode).toBe(416);
    expect(res.headers['Content-Range']).toBe('bytes */1234');
    expect(res.headers['Cache-Control']).toBe('no-store');
  });

  it('logs 5xx errors with their stack but answers with the generic body', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { res, host } = fakeHost();
    new ProblemDetailsFilter().catch(new Error('db password=hunter2'), host);
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('hunter2');
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0][0]).toMatchObject({ error: 'db password=hunter2', method: 'GET', path: '/v1/checkpoints' });
  });

  it('destroys the connection when the response has already started', () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { res, host } = fakeHost(true);
    new ProblemDetailsFilter().catch(new Error('stream broke'), host);
    expect(res.destroyed).toBe(true);
    expect(res.statusCode).toBe(0);
  });
});

describe('streamFailureHandler', () => {
  function fakeResponse(headersSent: boolean) {
    return {
      headersSent,
      destroyed: false,
      ended: false,
      statusCode: 200,
      headers: { 'Cache-Control': 'private, max-age=31536000, immutable', ETag: '"abc"', 'Content-Length': '1000' } as Record<string, string>,
      body: '',
      setHeader(name: string, value: string) {
        this.headers[name] = value;
      },
      removeHeader(name: string) {
        delete this.headers[name];
      },
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      type(t: string) {
        this.headers['Content-Type'] = t;
        return this;
      },
      send(body: string) {
        this.body = body;
      },
      end() {
        this.ended = true;
      },
      destroy() {
        this.destroyed = true;
      },
    };
  }

  beforeEach(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('answers a failure before the first byte with a 500 problem that drops the caching headers', () => {
    const res = fakeResponse(false);
    streamFailureHandler(new Readable({ read() {} }))(new Error('EIO: /data/blobs/sha256/ab'), res);
    expect(res.statusCode).toBe(500);
    expect(res.headers).toEqual({ 'Cache-Control': 'no-store', 'Content-Type': 'application/problem+json' });
    expect(JSON.parse(res.body)).toMatchObject({ code: 'INTERNAL', status: 500 });
    expect(res.body).not.toContain('/data/blobs');
  });

  it('cuts the connection once bytes were sent, so that a truncated file never looks complete', () => {
    const res = fakeResponse(true);
    streamFailureHandler(new Readable({ read() {} }))(new Error('reset'), res);
    expect(res.destroyed).toBe(true);
    expect(res.ended).toBe(false);
  });
});
