import { findNulCharacter, nulCharacterMessage } from './storable-text';

describe('findNulCharacter', () => {
  it('finds nothing in text without NUL, whatever the nesting', () => {
    expect(findNulCharacter('resnet18')).toBeNull();
    expect(findNulCharacter({ name: 'a', tags: ['x', 'y'], metrics: { top1: 0.7 }, when: new Date(), bytes: new Uint8Array([0]) })).toBeNull();
    expect(findNulCharacter(null)).toBeNull();
    expect(findNulCharacter(42)).toBeNull();
  });

  it('names where a NUL is: a string, an array item, a nested value or a key', () => {
    expect(findNulCharacter('a\u0000b')).toBe('the value');
    expect(findNulCharacter('a\u0000b', 'tag')).toBe('tag');
    expect(findNulCharacter({ tags: ['ok', 'b\u0000'] })).toBe('tags[1]');
    expect(findNulCharacter({ manifest: [{ name: 'w' }, { name: 'conv\u0000.weight' }] })).toBe('manifest[1].name');
    expect(findNulCharacter({ metrics: { 'top\u00001': 1 } })).toBe('metrics["top\\u00001"] (key)');
    expect(findNulCharacter([{ a: { b: 'x\u0000' } }], 'body')).toBe('body[0].a.b');
  });

  it('phrases the refusal', () => {
    expect(nulCharacterMessage('tag')).toBe('tag contains a NUL character (U+0000), which cannot be stored');
  });
});
