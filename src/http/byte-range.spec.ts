import { ServiceError } from '../core/service-error';
import { matchesIfNoneMatch, parseRange } from './byte-range';

describe('parseRange', () => {
  it.each([
    [undefined, null],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    [' bytes=1-1 ', { start: 1, end: 1 }],
  ])('%j of 1000 bytes → %j', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each(['bytes=-', 'bytes=5-2', 'bytes=1000-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=a-b'])('%j is 416 RANGE_NOT_SATISFIABLE', (header) => {
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
