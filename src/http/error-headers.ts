import type { Response } from 'express';

/**
 * Headers a handler may set for a successful response (caching, validators, the part sent, the
 * download's file name) that must not survive into an error: an error is never cached like the
 * content-addressed bytes it failed to send.
 */
const SUCCESS_ONLY_HEADERS = ['Cache-Control', 'ETag', 'Last-Modified', 'Expires', 'Content-Disposition', 'Content-Range', 'Content-Length'];

/**
 * Resets the headers of a response that is about to carry an error of `status` (whatever the
 * handler prepared before failing) and adds the ones the status calls for: `Retry-After` on 429,
 * the unsatisfied-range `Content-Range` on 416 (from the error's `retryAfterSeconds` and `size`).
 */
export function prepareErrorHeaders(res: Response, status: number, details: Record<string, unknown> | undefined): void {
  for (const name of SUCCESS_ONLY_HEADERS) res.removeHeader(name);
  res.setHeader('Cache-Control', 'no-store');
  const { retryAfterSeconds, size } = details ?? {};
  if (status === 429 && typeof retryAfterSeconds === 'number') res.setHeader('Retry-After', String(retryAfterSeconds));
  if (status === 416 && typeof size === 'number') res.setHeader('Content-Range', `bytes */${size}`);
}
