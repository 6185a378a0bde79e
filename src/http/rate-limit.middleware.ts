import type { NextFunction, Request, Response } from 'express';
import { ServiceError } from '../core/service-error';

/**
 * Per-client token bucket keyed by the client address (not by the unverified Authorization
 * header, which a client could vary to get fresh buckets). In-process: behind several replicas
 * each enforces its own share. The bucket map is bounded.
 */
const MAX_BUCKETS = 100_000;

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
    const key = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (!buckets.has(key) && buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
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
