import { deflateSync } from 'node:zlib';
import { CoreError } from '../errors';
import { resizeBilinearInto, toChannels } from './image-resize';
import { decodePng } from './png-decode';
import { encodePng, filteredScanlines, simplePng, type PngSpec } from './testing/png-writer';

const limits = { maxPixels: 1 << 20 };
const decode = (bytes: Uint8Array) => decodePng(bytes, 'test.png', limits);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as CoreError).code;
  }
  return 'none';
}

/** A 5×4 RGB gradient, each row with a different filter. */
const rgb: PngSpec = {
  width: 5,
  height: 4,
  colorType: 2,
  depth: 8,
  rows: Uint8Array.from({ length: 60 }, (_, i) => (i * 37 + 11) % 256),
  filters: [0, 1, 2, 3, 4],
};

describe('decodePng', () => {
  it('decodes RGB with every filter type', () => {
    for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1]]) {
      const image = decode(encodePng({ ...rgb, filters }));
      expect([image.width, image.height, image.channels]).toEqual([5, 4, 3]);
      expect(Array.from(image.data)).toEqual(Array.from(rgb.rows));
    }
  });

  it('drops alpha from gray+alpha and RGBA', () => {
    const ga = decode(encodePng({ width: 2, height: 1, colorType: 4, depth: 8, rows: Uint8Array.from([10, 255, 20, 0]) }));
    expect([ga.channels, ...ga.data]).toEqual([1, 10, 20]);
    const rgba = decode(encodePng({ width: 1, height: 2, colorType: 6, depth: 8, rows: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), filters: [2] }));
    expect([rgba.channels, ...rgba.data]).toEqual([3, 1, 2, 3, 5, 6, 7]);
  });

  it('maps palettes to RGB and scales low and high bit depths to 8 bits', () => {
    const palette = Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
    // 2-bit indices 3, 1, 2, 0 packed in one byte: 0b11_01_10_00.
    const indexed = decode(encodePng({ width: 4, height: 1, colorType: 3, depth: 2, rows: Uint8Array.from([0b11011000]), palette }));
    expect(Array.from(indexed.data)).toEqual([0, 0, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0]);
    const oneBit = decode(encodePng({ width: 3, height: 1, colorType: 0, depth: 1, rows: Uint8Array.from([0b10100000]) }));
    expect(Array.from(oneBit.data)).toEqual([255, 0, 255]);
    const sixteen = decode(encodePng({ width: 2, height: 1, colorType: 0, depth: 16, rows: Uint8Array.from([0x12, 0x34, 0xab, 0xcd]), filters: [1] }));
    expect(Array.from(sixteen.data)).toEqual([0x12, 0xab]);
  });

  it('refuses corrupt, truncated and unsupported files', () => {
    const good = encodePng(rgb);
    expect(codeOf(() => decode(good.subarray(1)))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(good.subarray(0, good.byteLength - 20)))).toBe('DATASET_IMAGE_INVALID');
    const flipped = Uint8Array.from(good);
    flipped[30] ^= 0x40; // IHDR's CRC (bytes 29..32): the data itself is intact, only the check fails
    expect(codeOf(() => decode(flipped))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(encodePng({ ...rgb, interlace: true })))).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf(() => decode(encodePng({ ...rgb, depth: 4 })))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(encodePng({ ...rgb, filters: [5] })))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(encodePng({ width: 1, height: 1, colorType: 3, depth: 8, rows: Uint8Array.from([0]) })))).toBe('DATASET_IMAGE_INVALID');
  });

  it('stops a deflate bomb at the declared image size and refuses huge headers before inflating', () => {
    // 8 MiB of zeros that deflate to a few KiB, behind a header that declares a 2×2 image.
    const bomb = deflateSync(new Uint8Array(8 << 20));
    const small: PngSpec = { width: 2, height: 2, colorType: 0, depth: 8, rows: new Uint8Array(4) };
    expect(bomb.byteLength).toBeLessThan(20_000);
    expect(codeOf(() => decode(encodePng(small, bomb)))).toBe('DATASET_IMAGE_INVALID');
    const huge: PngSpec = { width: 1 << 15, height: 1 << 15, colorType: 0, depth: 8, rows: new Uint8Array(0) };
    const error = (() => {
      try {
        decode(encodePng(huge, deflateSync(new Uint8Array(1))));
      } catch (e) {
        return e as CoreError;
      }
      return null;
    })();
    expect(error?.code).toBe('DATASET_IMAGE_INVALID');
    expect(error?.message).toContain('over the limit');
    // The short data of a valid header is refused too.
    expect(codeOf(() => decode(encodePng(rgb, deflateSync(filteredScanlines(rgb).subarray(0, 10)))))).toBe('DATASET_IMAGE_INVALID');
  });
});

describe('image conversion and resizing', () => {
  it('converts RGB to gray by luma and gray to RGB by repetition', () => {
    // 0.299·255 = 76.2; 0.299·10 + 0.587·20 + 0.114·30 = 18.15.
    const image = decode(simplePng(2, 1, 3, [255, 0, 0, 10, 20, 30]));
    expect(Array.from(toChannels(image, 1).data)).toEqual([76, 18]);
    expect(Array.from(toChannels(toChannels(image, 1), 3).data)).toEqual([76, 76, 76, 18, 18, 18]);
  });

  it('resizes bilinearly with half-pixel centres, into planar C×H×W', () => {
    const row = decode(simplePng(2, 1, 1, [0, 100]));
    const up = new Uint8Array(4);
    resizeBilinearInto(row, 1, 4, up, 0);
    expect(Array.from(up)).toEqual([0, 25, 75, 100]);
    const wide = decode(simplePng(4, 1, 1, [0, 10, 20, 40]));
    const down = new Uint8Array(2);
    resizeBilinearInto(wide, 1, 2, down, 0);
    expect(Array.from(down)).toEqual([5, 30]);
    const colour = decode(simplePng(1, 1, 3, [1, 2, 3]));
    const planar = new Uint8Array(1 + 3 * 4);
    resizeBilinearInto(colour, 2, 2, planar, 1);
    expect(Array.from(planar)).toEqual([0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  });
});
