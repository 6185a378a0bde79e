import { CoreError } from '../errors';
import { scanPixelArrays, type PixelArrayFormat } from './json-pixels';

const text = (s: string) => new TextEncoder().encode(s);
const nested: PixelArrayFormat = { layout: 'nested', scale: 'byte', imageSize: 3 };
const flat: PixelArrayFormat = { layout: 'flat', scale: 'unit', imageSize: 2 };

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as CoreError).code;
  }
  return 'none';
}

describe('scanPixelArrays', () => {
  it('reads nested byte arrays, skipping empty ones', () => {
    const { pixels, count } = scanPixelArrays(text('{"data":[[0,1,255],[],[ 7 , 8,9 ],[]]}'), nested, 'test');
    expect(count).toBe(2);
    expect(Array.from(pixels)).toEqual([0, 1, 255, 7, 8, 9]);
  });

  it('reads flat unit-scale values as round(value * 255)', () => {
    const values = [0, 0.2, 0.624, 1, 0.992, 0.004];
    const { pixels, count } = scanPixelArrays(text(`{ "data": [${values.join(',')}] }`), flat, 'test');
    expect(count).toBe(3);
    expect(Array.from(pixels)).toEqual(values.map((v) => Math.round(v * 255)));
  });

  it('agrees with JSON.parse on a random file', () => {
    let state = 12345;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 256;
    const images = Array.from({ length: 50 }, () => [next(), next(), next()]);
    const { pixels } = scanPixelArrays(text(JSON.stringify({ data: images })), nested, 'test');
    expect(Array.from(pixels)).toEqual((JSON.parse(JSON.stringify({ data: images })) as { data: number[][] }).data.flat());
  });

  it('stops after a limit of images', () => {
    expect(Array.from(scanPixelArrays(text('{"data":[[1,2,3],[4,5,6],[7,8,9]]}'), nested, 'test', 2).pixels)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(scanPixelArrays(text('{"data":[0,0.2,0.4,0.6,0.8,1]}'), flat, 'test', 2).count).toBe(2);
  });

  it('refuses malformed data with a stable code', () => {
    const bad = [
      '{"other":[]}',
      '{"data":[[1,2]]}',
      '{"data":[[1,2,3],[4,5,6]',
      '{"data":[[1,2,-3]]}',
      '{"data":[[1,2,256]]}',
      '{"data":[[1,2,3.5]]}',
      '{"data":[[[1,2,3]]]}',
      '{"data":[1,2,3]}',
    ];
    for (const s of bad) expect([s, codeOf(() => scanPixelArrays(text(s), nested, 'test'))]).toEqual([s, 'DATASET_BUILTIN_UNAVAILABLE']);
    expect(codeOf(() => scanPixelArrays(text('{"data":[0.1,0.2,0.3]}'), flat, 'test'))).toBe('DATASET_BUILTIN_UNAVAILABLE');
    expect(codeOf(() => scanPixelArrays(text('{"data":[0.1,2]}'), flat, 'test'))).toBe('DATASET_BUILTIN_UNAVAILABLE');
  });
});
