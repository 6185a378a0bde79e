import fc from 'fast-check';
import { findDuplicateKey } from './json-duplicates';

describe('findDuplicateKey', () => {
  it('finds top-level and nested duplicates, naming the enclosing top-level key', () => {
    expect(findDuplicateKey('{"a":1,"b":2,"a":3}')).toEqual({ key: 'a', parentKey: null });
    expect(findDuplicateKey('{"t":{"x":[{"k":1,"k":2}]}}')).toEqual({ key: 'k', parentKey: 't' });
    expect(findDuplicateKey('{ "a\\"b" : 1 , "a\\u0022b" : 2 }')).toEqual({ key: 'a"b', parentKey: null });
  });

  it('is not fooled by escapes, string values or keys repeated across objects', () => {
    expect(findDuplicateKey('{"a\\\\":"a\\\\","a":{"x":1},"b":{"x":1}}')).toBeNull();
    expect(findDuplicateKey('{"a":"b\\":","b":["a","a"]}')).toBeNull();
  });

  it('reports nothing for any JSON that JSON.stringify produced', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'small', stringUnit: 'binary' }), (text) => {
        expect(findDuplicateKey(text)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });
});
