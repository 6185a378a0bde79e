import { crc32, inflateSync } from 'node:zlib';
import { CoreError } from '../errors';

/** A decoded image: 8-bit samples, row-major, channels interleaved (1: gray, 3: RGB). */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

export interface ImageDecodeLimits {
  /** Largest width × height accepted (checked from the header, before anything is inflated). */
  readonly maxPixels: number;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Samples per pixel and the bit depths PNG allows, by colour type. */
const COLOR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { samples: 3, depths: [8, 16] },
  3: { samples: 1, depths: [1, 2, 4, 8] },
  4: { samples: 2, depths: [8, 16] },
  6: { samples: 4, depths: [8, 16] },
};

export function imageError(what: string, message: string): CoreError {
  return new CoreError('DATASET_IMAGE_INVALID', `${what}: ${message}`, { file: what });
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
}

/** Walks the chunks, checking each CRC; returns the header, palette and concatenated IDAT data. */
function readChunks(bytes: Uint8Array, what: string): { header: Header; palette: Uint8Array | null; idat: Buffer } {
  if (bytes.byteLength < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw imageError(what, 'not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.byteLength) throw imageError(what, 'truncated PNG (no IEND chunk)');
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > bytes.byteLength) throw imageError(what, 'truncated PNG chunk');
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) throw imageError(what, `corrupt PNG (bad CRC in ${JSON.stringify(type)})`);
    if (type === 'IHDR') {
      if (length !== 13) throw imageError(what, 'malformed IHDR');
      const h = new DataView(data.buffer, data.byteOffset, 13);
      header = { width: h.getUint32(0), height: h.getUint32(4), depth: data[8], colorType: data[9] };
      if (data[10] !== 0 || data[11] !== 0) throw imageError(what, 'unknown PNG compression or filter method');
      if (data[12] !== 0) throw new CoreError('UNSUPPORTED_FORMAT', `${what}: interlaced PNG is not supported`, { file: what });
    } else if (type === 'PLTE') {
      palette = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    at = end;
  }
  if (!header) throw imageError(what, 'PNG without IHDR');
  return { header, palette, idat: Buffer.concat(idat) };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the per-row filters in place; returns the rows without their filter bytes. */
function unfilter(raw: Uint8Array, height: number, rowBytes: number, step: number, what: string): Uint8Array {
  const out = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)];
    const src = y * (rowBytes + 1) + 1;
    const row = y * rowBytes;
    const prev = row - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const left = x >= step ? out[row + x - step] : 0;
      const up = y > 0 ? out[prev + x] : 0;
      const upLeft = y > 0 && x >= step ? out[prev + x - step] : 0;
      const v = raw[src + x];
      if (filter === 0) out[row + x] = v;
      else if (filter === 1) out[row + x] = v + left;
      else if (filter === 2) out[row + x] = v + up;
      else if (filter === 3) out[row + x] = v + ((left + up) >> 1);
      else if (filter === 4) out[row + x] = v + paeth(left, up, upLeft);
      else throw imageError(what, `corrupt PNG (filter type ${filter})`);
    }
  }
  return out;
}

/** The i-th sample of a row as 8 bits (16-bit samples keep their high byte; low depths are scaled up). */
function sampleAt(rows: Uint8Array, rowStart: number, i: number, depth: number, scale: boolean): number {
  if (depth === 8) return rows[rowStart + i];
  if (depth === 16) return rows[rowStart + 2 * i];
  const perByte = 8 / depth;
  const byte = rows[rowStart + Math.floor(i / perByte)];
  const value = (byte >> (8 - depth * ((i % perByte) + 1))) & ((1 << depth) - 1);
  return scale ? Math.round((value * 255) / ((1 << depth) - 1)) : value;
}

/**
 * Decodes a PNG (every colour type and bit depth, not interlaced) to 8-bit gray or RGB. Alpha is
 * dropped; palettes become RGB; 16-bit samples keep their high byte. Guards: CRC of every chunk,
 * width × height within `maxPixels` before inflating, inflation capped at the exact expected size
 * (a deflate bomb stops there), and the data must fill the image.
 */
export function decodePng(bytes: Uint8Array, what: string, limits: ImageDecodeLimits): DecodedImage {
  const { header, palette, idat } = readChunks(bytes, what);
  const { width, height, depth, colorType } = header;
  const kind = COLOR_TYPES[colorType];
  if (!kind || !kind.depths.includes(depth)) throw imageError(what, `invalid PNG colour type ${colorType} with bit depth ${depth}`);
  if (width < 1 || height < 1 || width * height > limits.maxPixels) {
    throw new CoreError('DATASET_IMAGE_INVALID', `${what}: a ${width}×${height} image is empty or over the limit of ${limits.maxPixels} pixels`, { file: what, width, height });
  }
  if (colorType === 3 && (!palette || palette.byteLength % 3 !== 0)) throw imageError(what, 'palette PNG without a valid PLTE chunk');
  const bitsPerPixel = kind.samples * depth;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
  const expected = height * (rowBytes + 1);
  let raw: Buffer;
  try {
    raw = inflateSync(idat, { maxOutputLength: expected });
  } catch {
    throw imageError(what, 'corrupt PNG (image data does not inflate to the image size)');
  }
  if (raw.byteLength !== expected) throw imageError(what, `corrupt PNG (${raw.byteLength} bytes of image data, ${expected} expected)`);
  const rows = unfilter(raw, height, rowBytes, Math.max(1, bitsPerPixel >> 3), what);
  const channels = colorType === 0 || colorType === 4 ? 1 : 3;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (colorType === 3) {
        const index = sampleAt(rows, y * rowBytes, x, depth, false);
        if (3 * index + 2 >= (palette as Uint8Array).byteLength) throw imageError(what, `palette index ${index} outside the palette`);
        data.set((palette as Uint8Array).subarray(3 * index, 3 * index + 3), o);
      } else {
        for (let c = 0; c < channels; c++) data[o + c] = sampleAt(rows, y * rowBytes, x * kind.samples + c, depth, true);
      }
    }
  }
  return { width, height, channels, data };
}
