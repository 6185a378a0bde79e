import type { ByteRange } from '../core/storage/blob-store.port';
import { ServiceError } from '../core/service-error';

/**
 * Range requests as RFC 9110 §14 has them, for a resource of `size` bytes. Returns null when the
 * whole resource is to be sent (200): no Range header, a unit other than bytes, a malformed
 * ranges-specifier, or several satisfiable ranges (no multipart/byteranges here; ignoring the
 * header is what the RFC allows). One satisfiable range (others that fall outside are dropped) is
 * returned for a 206. A bytes range that no part of the resource satisfies is 416
 * RANGE_NOT_SATISFIABLE, with the size in its details for the unsatisfied-range `Content-Range`.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=(.*)$/.exec(header);
  if (!m || m[1].toLowerCase() !== 'bytes') return null;
  const specs = m[2].split(',').map((s) => s.trim());
  const satisfiable: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return null;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      // An empty resource has no byte to point at: send it whole.
      if (suffix > 0 && size === 0) return null;
      if (suffix > 0) satisfiable.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    const last = r[2] === '' ? Number.POSITIVE_INFINITY : Number(r[2]);
    if (last < start) return null;
    if (start < size) satisfiable.push({ start, end: Math.min(last, size - 1) });
  }
  if (satisfiable.length === 0) {
    throw new ServiceError('RANGE_NOT_SATISFIABLE', `range ${JSON.stringify(header.trim())} is outside the ${size}-byte file`, { size });
  }
  return satisfiable.length === 1 ? satisfiable[0] : null;
}

/** Validators of the current representation, for `If-Range`. */
export interface RangeValidators {
  /** Strong entity tag, quoted. */
  etag: string;
  lastModified?: Date;
}

/**
 * True when a Range request may be answered with a part (RFC 9110 §13.1.5): no `If-Range`, an
 * entity tag that matches `etag` by strong comparison (a weak tag never does), or an HTTP date
 * equal to `lastModified`. Otherwise the client's copy is stale and it gets the whole resource.
 */
export function ifRangeAllowsPart(header: string | undefined, validators: RangeValidators): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag;
  if (!validators.lastModified) return false;
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(date / 1000) === Math.floor(validators.lastModified.getTime() / 1000);
}

/** True when an `If-None-Match` header names one of `tags` (or `*`), weak or strong. */
export function matchesIfNoneMatch(header: string | undefined, tags: readonly string[]): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const t = raw.trim();
    return t === '*' || tags.some((tag) => t === tag || t === `W/${tag}`);
  });
}
