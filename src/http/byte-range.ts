import type { ByteRange } from '../core/storage/blob-store.port';
import { ServiceError } from '../core/service-error';

/**
 * Parses a `Range` header against a resource of `size` bytes: null for the whole resource, else
 * one range (`bytes=start-end`, `bytes=start-`, `bytes=-suffix`); anything else, or a range
 * outside the resource, is 416 RANGE_NOT_SATISFIABLE.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    throw new ServiceError('RANGE_NOT_SATISFIABLE', `unsupported Range header ${JSON.stringify(header)}: use a single bytes=start-end range`, { size });
  }
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) throw new ServiceError('RANGE_NOT_SATISFIABLE', `range ${header} is outside the ${size}-byte file`, { size });
  return { start, end };
}

/** True when an `If-None-Match` header names one of `tags` (or `*`), weak or strong. */
export function matchesIfNoneMatch(header: string | undefined, tags: readonly string[]): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const t = raw.trim();
    return t === '*' || tags.some((tag) => t === tag || t === `W/${tag}`);
  });
}
