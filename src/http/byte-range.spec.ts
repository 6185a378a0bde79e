import { ServiceError } from '../core/service-error';
import { ifRangeAllowsPart, matchesIfNoneMatch, parseRange } from './byte-range';

describe('parseRange', () => {
  it.each([
    [undefined, null],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    [' bytes=1-1 ', { start: 1, end: 1 }],
    ['Bytes=0-0', { start: 0, end: 0 }],
    // Ranges outside the file are dropped when another one is satisfiable.
    ['bytes=0-9, 5000-6000', { start: 0, end: 9 }],
  ])('%j of 1000 bytes → %j', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each([
    ['several ranges', 'bytes=0-1,5-6'],
    ['several ranges with spaces', 'bytes=0-99, -10'],
    ['an unknown unit', 'items=0-1'],
    ['an unknown unit that looks like bytes', 'bytesx=0-1'],
    ['a range whose last byte precedes its first', 'bytes=5-2'],
    ['no positions', 'bytes=-'],
    ['non-numeric positions', 'bytes=a-b'],
    ['no ranges-specifier', 'bytes'],
    ['an empty ranges-specifier', 'bytes='],
  ])('ignores %s (%j): the whole file is sent', (_what, header) => {
    expect(parseRange(header, 1000)).toBeNull();
  });

  it('sends an empty file whole for a suffix range', () => {
    expect(parseRange('bytes=-10', 0)).toBeNull();
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=1000-1001, 2000-'])('%j of 1000 bytes is 416 RANGE_NOT_SATISFIABLE with the size', (header) => {
    const error = (() => {
      try {
        parseRange(header, 1000);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', details: { size: 1000 } });
  });
});

describe('ifRangeAllowsPart', () => {
  const etag = '"abc"';
  const lastModified = new Date('2026-01-02T03:04:05Z');

  it('allows a part without If-Range', () => {
    expect(ifRangeAllowsPart(undefined, { etag })).toBe(true);
  });

  it('compares entity tags strongly', () => {
    expect(ifRangeAllowsPart('"abc"', { etag })).toBe(true);
    expect(ifRangeAllowsPart(' "abc" ', { etag })).toBe(true);
    expect(ifRangeAllowsPart('"abd"', { etag })).toBe(false);
    expect(ifRangeAllowsPart('W/"abc"', { etag })).toBe(false);
  });

  it('compares a date with Last-Modified, and never matches without one', () => {
    expect(ifRangeAllowsPart('Fri, 02 Jan 2026 03:04:05 GMT', { etag, lastModified })).toBe(true);
    expect(ifRangeAllowsPart('Fri, 02 Jan 2026 03:04:06 GMT', { etag, lastModified })).toBe(false);
    expect(ifRangeAllowsPart('Fri, 02 Jan 2026 03:04:05 GMT', { etag })).toBe(false);
    expect(ifRangeAllowsPart('not a date', { etag, lastModified })).toBe(false);
  });
});

describe('matchesIfNoneMatch', () => {
  it('matches a listed tag, strong or weak, or *', () => {
    expect(matchesIfNoneMatch('"abc"', ['"abc"'])).toBe(true);
    expect(matchesIfNoneMatch('W/"abc"', ['"abc"'])).toBe(true);
    expect(matchesIfNoneMatch('"x", "abc"', ['"abc"'])).toBe(true);
    expect(matchesIfNoneMatch('*', ['"abc"'])).toBe(true);
    expect(matchesIfNoneMatch('"abd"', ['"abc"'])).toBe(false);
    expect(matchesIfNoneMatch(undefined, ['"abc"'])).toBe(false);
  });
});
