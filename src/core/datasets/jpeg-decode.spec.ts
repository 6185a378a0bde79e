import { CoreError } from '../errors';
import { decodeJpeg } from './jpeg-decode';
import { encodeJpeg, flatBlock, type JpegSpec } from './testing/jpeg-writer';

const decode = (bytes: Uint8Array) => decodeJpeg(bytes, 'test.jpg', { maxPixels: 1 << 20 });

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as CoreError).code;
  }
  return 'none';
}

const gray = (blocks: number[][], width = 8 * blocks.length, height = 8): JpegSpec => ({ width, height, components: [{ id: 1, h: 1, v: 1, blocks }] });

describe('decodeJpeg', () => {
  it('decodes a DC-only block to a flat value (the inverse DCT’s scale)', () => {
    const image = decode(encodeJpeg(gray([flatBlock(200), flatBlock(17)])));
    expect([image.width, image.height, image.channels]).toEqual([16, 8, 1]);
    for (let y = 0; y < 8; y++) {
      expect(Array.from(image.data.subarray(y * 16, y * 16 + 16))).toEqual([...new Array(8).fill(200), ...new Array(8).fill(17)]);
    }
  });

  it('puts zig-zag position 1 on the horizontal frequency and position 2 on the vertical one', () => {
    const horizontal = flatBlock(128);
    horizontal[1] = 80;
    const vertical = flatBlock(128);
    vertical[2] = 80;
    const h = decode(encodeJpeg(gray([horizontal])));
    const v = decode(encodeJpeg(gray([vertical])));
    // One AC term F(0,1) = 80 gives 128 + ¼·√½·80·cos((2x + 1)π/16) along x, constant along y.
    const expected = Array.from({ length: 8 }, (_, x) => Math.round(128 + 0.25 * Math.SQRT1_2 * 80 * Math.cos(((2 * x + 1) * Math.PI) / 16)));
    for (let y = 0; y < 8; y++) expect(Array.from(h.data.subarray(8 * y, 8 * y + 8))).toEqual(expected);
    for (let x = 0; x < 8; x++) expect(Array.from({ length: 8 }, (_, y) => v.data[8 * y + x])).toEqual(expected);
  });

  it('decodes 4:2:0 YCbCr to RGB, cropping to the frame size', () => {
    // One 16×16 MCU: four luma blocks, one Cb and one Cr block (upsampled by replication).
    const spec: JpegSpec = {
      width: 13,
      height: 11,
      components: [
        { id: 1, h: 2, v: 2, blocks: [flatBlock(100), flatBlock(150), flatBlock(50), flatBlock(250)] },
        { id: 2, h: 1, v: 1, blocks: [flatBlock(100)] },
        { id: 3, h: 1, v: 1, blocks: [flatBlock(160)] },
      ],
    };
    const image = decode(encodeJpeg(spec));
    expect([image.width, image.height, image.channels]).toEqual([13, 11, 3]);
    const rgb = (y: number) => [y + 1.402 * 32, y - 0.344136 * -28 - 0.714136 * 32, y + 1.772 * -28].map((c) => Math.min(255, Math.max(0, Math.round(c))));
    const at = (x: number, y: number) => Array.from(image.data.subarray(3 * (y * 13 + x), 3 * (y * 13 + x) + 3));
    expect(at(0, 0)).toEqual(rgb(100));
    expect(at(12, 0)).toEqual(rgb(150));
    expect(at(3, 10)).toEqual(rgb(50));
    expect(at(12, 10)).toEqual(rgb(250));
  });

  it('follows restart markers and large DC differences', () => {
    const values = [0, 255, 3, 250, 128, 1];
    const image = decode(encodeJpeg({ ...gray(values.map(flatBlock)), restartInterval: 2 }));
    expect(Array.from({ length: values.length }, (_, b) => image.data[8 * b])).toEqual(values);
  });

  it('refuses corrupt, truncated, oversized and unsupported files', () => {
    const good = encodeJpeg(gray([flatBlock(200), flatBlock(17)]));
    expect(codeOf(() => decode(good.subarray(1)))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(good.subarray(0, good.byteLength - 6)))).toBe('DATASET_IMAGE_INVALID');
    expect(codeOf(() => decode(encodeJpeg({ ...gray([flatBlock(1)]), sof: 0xc2 })))).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf(() => decode(encodeJpeg({ ...gray([flatBlock(1)]), width: 4000, height: 4000 })))).toBe('DATASET_IMAGE_INVALID');
    const missingRestart = encodeJpeg({ ...gray([1, 2, 3].map(flatBlock)), restartInterval: 1 });
    const at = missingRestart.findIndex((b, i) => b === 0xff && missingRestart[i + 1] === 0xd0);
    const broken = Uint8Array.from(missingRestart);
    broken[at + 1] = 0x00; // the RST0 marker becomes stuffed data
    expect(codeOf(() => decode(broken))).toBe('DATASET_IMAGE_INVALID');
  });
});
