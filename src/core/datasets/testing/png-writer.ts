import { crc32, deflateSync } from 'node:zlib';

/** A minimal PNG encoder for tests: `samples` are the image's rows of raw samples, unfiltered. */
export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  /** Packed row bytes, height × rowBytes. */
  rows: Uint8Array;
  palette?: Uint8Array;
  /** Filter type per row (0..4), cycling; default all 0. */
  filters?: number[];
  interlace?: boolean;
}

const SAMPLES = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.byteLength);
  out.writeUInt32BE(data.byteLength, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.byteLength)), 8 + data.byteLength);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The filtered scanlines (filter byte + filtered row) that PNG compresses. */
export function filteredScanlines(spec: PngSpec): Uint8Array {
  const bits = SAMPLES[spec.colorType] * spec.depth;
  const rowBytes = Math.ceil((spec.width * bits) / 8);
  const step = Math.max(1, bits >> 3);
  const out = new Uint8Array(spec.height * (rowBytes + 1));
  for (let y = 0; y < spec.height; y++) {
    const filter = spec.filters ? spec.filters[y % spec.filters.length] : 0;
    out[y * (rowBytes + 1)] = filter;
    for (let x = 0; x < rowBytes; x++) {
      const v = spec.rows[y * rowBytes + x];
      const left = x >= step ? spec.rows[y * rowBytes + x - step] : 0;
      const up = y > 0 ? spec.rows[(y - 1) * rowBytes + x] : 0;
      const upLeft = y > 0 && x >= step ? spec.rows[(y - 1) * rowBytes + x - step] : 0;
      const predicted = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      out[y * (rowBytes + 1) + 1 + x] = (v - predicted) & 0xff;
    }
  }
  return out;
}

export function encodePng(spec: PngSpec, idat: Uint8Array = deflateSync(filteredScanlines(spec))): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr[8] = spec.depth;
  ihdr[9] = spec.colorType;
  ihdr[12] = spec.interlace ? 1 : 0;
  const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
  if (spec.palette) parts.push(chunk('PLTE', spec.palette));
  // Split the data over two IDAT chunks, as encoders may.
  const half = idat.byteLength >> 1;
  parts.push(chunk('IDAT', idat.subarray(0, half)), chunk('IDAT', idat.subarray(half)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** An 8-bit gray or RGB PNG from interleaved samples. */
export function simplePng(width: number, height: number, channels: 1 | 3, samples: number[]): Uint8Array {
  return encodePng({ width, height, colorType: channels === 1 ? 0 : 2, depth: 8, rows: Uint8Array.from(samples) });
}
