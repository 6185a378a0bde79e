import type { DecodedImage } from './png-decode';

/** One output coordinate's two source neighbours and the weight of the second. */
interface Tap {
  i0: number;
  i1: number;
  w1: number;
}

/** Half-pixel centres (align_corners=False): src = (dst + ½)·in/out − ½, clamped at 0. */
function taps(inSize: number, outSize: number): Tap[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, d) => {
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return { i0, i1, w1: src - i0 };
  });
}

/** ITU-R 601-2 luma, as 8-bit conversions to grayscale usually do. */
function luma(r: number, g: number, b: number): number {
  return Math.round((r * 299 + g * 587 + b * 114) / 1000);
}

/** The image with `channels` channels: RGB to gray by luma, gray to RGB by repetition. */
export function toChannels(image: DecodedImage, channels: 1 | 3): DecodedImage {
  if (image.channels === channels) return image;
  const pixels = image.width * image.height;
  const data = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    if (channels === 1) data[p] = luma(image.data[3 * p], image.data[3 * p + 1], image.data[3 * p + 2]);
    else data.fill(image.data[p], 3 * p, 3 * p + 3);
  }
  return { ...image, channels, data };
}

/**
 * Bilinear resize without antialiasing, with half-pixel centres (as torch's
 * interpolate(mode='bilinear', align_corners=False, antialias=False)), rounded to the nearest
 * byte. Writes planar C×H×W into `out` (the layout of a dataset's inputs) at `offset`.
 */
export function resizeBilinearInto(image: DecodedImage, height: number, width: number, out: Uint8Array, offset: number): void {
  const { channels, data } = image;
  const ys = taps(image.height, height);
  const xs = taps(image.width, width);
  const rowStride = image.width * channels;
  for (let c = 0; c < channels; c++) {
    const plane = offset + c * height * width;
    for (let y = 0; y < height; y++) {
      const { i0: y0, i1: y1, w1: wy } = ys[y];
      for (let x = 0; x < width; x++) {
        const { i0: x0, i1: x1, w1: wx } = xs[x];
        const a = data[y0 * rowStride + x0 * channels + c];
        const b = data[y0 * rowStride + x1 * channels + c];
        const d = data[y1 * rowStride + x0 * channels + c];
        const e = data[y1 * rowStride + x1 * channels + c];
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[plane + y * width + x] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
}
