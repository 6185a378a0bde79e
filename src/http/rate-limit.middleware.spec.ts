import type { NextFunction, Request, Response } from 'express';
import { ServiceError } from '../core/service-error';
import { rateLimitMiddleware } from './rate-limit.middleware';

function request(path = '/v1/checkpoints', opts: { auth?: string; ip?: string } = {}): Request {
  return {
    path,
    ip: opts.ip ?? '10.0.0.1',
    header: (name: string) => (name.toLowerCase() === 'authorization' ? opts.auth : undefined),
  } as unknown as Request;
}

const res = {} as Response;

/** Runs the middleware once; returns the error passed to next, or null when the request passed. */
function call(mw: ReturnType<typeof rateLimitMiddleware>, req: Request): ServiceError | null {
  let result: unknown = 'next not called';
  const next: NextFunction = (err?: unknown) => {
    result = err ?? null;
  };
  mw(req, res, next);
  if (result === 'next not called') throw new Error('middleware did not call next');
  return result as ServiceError | null;
}

describe('rateLimitMiddleware', () => {
  let now: number;
  beforeEach(() => {
    now = 1_800_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  const noExemptions = () => false;

  it('lets N requests through and refuses request N+1 with RATE_LIMITED and retryAfterSeconds', () => {
    const mw = rateLimitMiddleware(5, noExemptions);
    for (let i = 0; i < 5; i++) expect(call(mw, request())).toBeNull();
    const error = call(mw, request());
    expect(error).toBeInstanceOf(ServiceError);
    expect(error!.code).toBe('RATE_LIMITED');
    // One token takes 60 s / 5 = 12 s to refill.
    expect(error!.details).toEqual({ retryAfterSeconds: 12 });
    expect(error!.message).toContain('5 requests per minute');
  });

  it('refills tokens with time, up to the per-minute capacity', () => {
    const mw = rateLimitMiddleware(60, noExemptions); // one token per second
    for (let i = 0; i < 60; i++) expect(call(mw, request())).toBeNull();
    expect(call(mw, request())?.code).toBe('RATE_LIMITED');
    now += 400;
    const early = call(mw, request());
    expect(early?.code).toBe('RATE_LIMITED');
    expect(early?.details).toEqual({ retryAfterSeconds: 1 });
    now += 600;
    expect(call(mw, request())).toBeNull();
    expect(call(mw, request())?.code).toBe('RATE_LIMITED');
    // A long pause refills to the capacity, no more.
    now += 10 * 60_000;
    for (let i = 0; i < 60; i++) expect(call(mw, request())).toBeNull();
    expect(call(mw, request())?.code).toBe('RATE_LIMITED');
  });

  it('never limits exempt paths, even for an exhausted client', () => {
    const mw = rateLimitMiddleware(1, (path) => path === '/health' || path.startsWith('/metrics'));
    expect(call(mw, request())).toBeNull();
    expect(call(mw, request())?.code).toBe('RATE_LIMITED');
    for (let i = 0; i < 10; i++) {
      expect(call(mw, request('/health'))).toBeNull();
      expect(call(mw, request('/metrics'))).toBeNull();
    }
  });

  it('keeps one bucket per client address, whatever Authorization header is sent', () => {
    const mw = rateLimitMiddleware(2, noExemptions);
    const alice = { auth: 'Bearer alice-key', ip: '10.0.0.1' };
    for (let i = 0; i < 2; i++) expect(call(mw, request('/v1/x', alice))).toBeNull();
    expect(call(mw, request('/v1/x', alice))?.code).toBe('RATE_LIMITED');
    // Varying the (unverified) key from the same address does not buy a fresh bucket.
    expect(call(mw, request('/v1/x', { auth: 'Bearer made-up-1', ip: '10.0.0.1' }))?.code).toBe('RATE_LIMITED');
    expect(call(mw, request('/v1/x', { ip: '10.0.0.1' }))?.code).toBe('RATE_LIMITED');
    // Another address has its own bucket.
    expect(call(mw, request('/v1/x', { ...alice, ip: '10.9.9.9' }))).toBeNull();
  });

  it('is disabled by a limit of 0', () => {
    const mw = rateLimitMiddleware(0, noExemptions);
    for (let i = 0; i < 1000; i++) expect(call(mw, request())).toBeNull();
  });

  it('forgets idle clients, who come back with a full bucket', () => {
    const mw = rateLimitMiddleware(3, noExemptions);
    for (let i = 0; i < 3; i++) call(mw, request('/v1/x', { ip: '10.0.0.5' }));
    expect(call(mw, request('/v1/x', { ip: '10.0.0.5' }))?.code).toBe('RATE_LIMITED');
    now += 5 * 60_000;
    for (let i = 0; i < 3; i++) expect(call(mw, request('/v1/x', { ip: '10.0.0.5' }))).toBeNull();
    expect(call(mw, request('/v1/x', { ip: '10.0.0.5' }))?.code).toBe('RATE_LIMITED');
  });
});
