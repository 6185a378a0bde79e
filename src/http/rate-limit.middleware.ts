import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { ServiceError } from '../modules/service-error';

/**
 * Per-client token bucket (client = API key hash, or address without one). In-process: behind
 * several replicas each enforces its own share.
 */
export function rateLimitMiddleware(perMinute: number, exempt: (path: string) => boolean) {
  const buckets = new Map<string, { tokens: number; updated: number }>();
  const refillPerMs = perMinute / 60_000;
  let lastSweep = Date.now();
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (perMinute === 0 || exempt(req.path)) return next();
    const now = Date.now();
    if (now - lastSweep > 60_000) {
      for (const [k, b] of buckets) if (now - b.updated > 120_000) buckets.delete(k);
      lastSweep = now;
    }
    const auth = req.header('authorization');
    const key = auth ? 'k:' + createHash('sha256').update(auth).digest('hex').slice(0, 32) : 'a:' + (req.ip ?? 'unknown');
    const bucket = buckets.get(key) ?? { tokens: perMinute, updated: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updated) * refillPerMs);
    bucket.updated = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
      return next(new ServiceError('RATE_LIMITED', `rate limit of ${perMinute} requests per minute exceeded`, { retryAfterSeconds }));
    }
    bucket.tokens -= 1;
    next();
  };
}
