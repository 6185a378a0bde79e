import { CoreError } from '../errors';
import { BitReader, buildHuffman, decodeSymbol, extend, type Huffman } from './jpeg-huffman';
import { imageError, type DecodedImage, type ImageDecodeLimits } from './png-decode';

/** Zig-zag position k → natural (row-major) index in an 8×8 block. */
const ZIGZAG = (() => {
  const order: number[] = [];
  for (let s = 0; s < 15; s++) {
    const cells: number[] = [];
    for (let r = Math.max(0, s - 7); r <= Math.min(7, s); r++) cells.push(r * 8 + (s - r));
    // Even diagonals run bottom-left to top-right, odd ones the other way.
    order.push(...(s % 2 === 0 ? cells.reverse() : cells));
  }
  return order;
})();

/** cos((2x + 1)uπ / 16) · C(u) / 2, indexed [x * 8 + u]. */
const IDCT_BASIS = Float64Array.from({ length: 64 }, (_, i) => {
  const x = i >> 3;
  const u = i & 7;
  return (Math.cos(((2 * x + 1) * u * Math.PI) / 16) * (u === 0 ? Math.SQRT1_2 : 1)) / 2;
});

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  blocksW: number;
  blocksH: number;
  /** Dequantized-and-transformed samples, blocksW·8 × blocksH·8. */
  pixels: Uint8Array;
  pred: number;
  dc: number;
  ac: number;
}

/** Decodes one 8×8 block, dequantizes it and writes its inverse DCT (level-shifted, clamped). */
function decodeBlock(reader: BitReader, c: Component, tables: { dc: Huffman[]; ac: Huffman[]; q: Int32Array[] }, bx: number, by: number, what: string): void {
  const coefficients = new Float64Array(64);
  const q = tables.q[c.tq];
  const size = decodeSymbol(reader, tables.dc[c.dc], what);
  if (size > 11) throw imageError(what, 'corrupt JPEG (DC magnitude)');
  c.pred += extend(reader.receive(size), size);
  coefficients[0] = c.pred * q[0];
  for (let k = 1; k < 64; ) {
    const rs = decodeSymbol(reader, tables.ac[c.ac], what);
    const run = rs >> 4;
    const s = rs & 15;
    if (s === 0) {
      if (run !== 15) break; // end of block
      k += 16;
      continue;
    }
    k += run;
    if (k > 63) throw imageError(what, 'corrupt JPEG (coefficient index past 63)');
    coefficients[ZIGZAG[k]] = extend(reader.receive(s), s) * q[k];
    k++;
  }
  const rows = new Float64Array(64);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let u = 0; u < 8; u++) sum += IDCT_BASIS[x * 8 + u] * coefficients[y * 8 + u];
      rows[y * 8 + x] = sum;
    }
  }
  const stride = c.blocksW * 8;
  for (let x = 0; x < 8; x++) {
    for (let y = 0; y < 8; y++) {
      let sum = 0;
      for (let v = 0; v < 8; v++) sum += IDCT_BASIS[y * 8 + v] * rows[v * 8 + x];
      const value = Math.round(sum + 128);
      c.pixels[(by * 8 + y) * stride + bx * 8 + x] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
}

interface Frame {
  width: number;
  height: number;
  hMax: number;
  vMax: number;
  mcusX: number;
  mcusY: number;
  components: Component[];
}

function readFrame(seg: Uint8Array, what: string, limits: ImageDecodeLimits): Frame {
  if (seg[0] !== 8) throw new CoreError('UNSUPPORTED_FORMAT', `${what}: ${seg[0]}-bit JPEG samples are not supported`, { file: what });
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const n = seg[5];
  if (n !== 1 && n !== 3) throw new CoreError('UNSUPPORTED_FORMAT', `${what}: JPEG with ${n} components (gray and YCbCr only)`, { file: what });
  if (seg.byteLength < 6 + 3 * n) throw imageError(what, 'corrupt JPEG (short frame header)');
  if (width < 1 || height < 1 || width * height > limits.maxPixels) {
    throw new CoreError('DATASET_IMAGE_INVALID', `${what}: a ${width}×${height} image is empty or over the limit of ${limits.maxPixels} pixels`, { file: what, width, height });
  }
  const raw = Array.from({ length: n }, (_, i) => ({ id: seg[6 + 3 * i], h: seg[7 + 3 * i] >> 4, v: seg[7 + 3 * i] & 15, tq: seg[8 + 3 * i] }));
  if (raw.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3)) throw imageError(what, 'corrupt JPEG (sampling factors or table index)');
  const hMax = Math.max(...raw.map((c) => c.h));
  const vMax = Math.max(...raw.map((c) => c.v));
  const mcusX = Math.ceil(width / (8 * hMax));
  const mcusY = Math.ceil(height / (8 * vMax));
  const components = raw.map((c) => ({ ...c, blocksW: mcusX * c.h, blocksH: mcusY * c.v, pixels: new Uint8Array(mcusX * c.h * 8 * mcusY * c.v * 8), pred: 0, dc: 0, ac: 0 }));
  return { width, height, hMax, vMax, mcusX, mcusY, components };
}

/** Decodes one scan starting at `pos`; returns the position of the marker that follows it. */
function decodeScan(data: Uint8Array, pos: number, seg: Uint8Array, frame: Frame, tables: { dc: Huffman[]; ac: Huffman[]; q: Int32Array[] }, restartInterval: number, what: string): number {
  const n = seg[0];
  if (n < 1 || n > 4 || seg.byteLength < 4 + 2 * n) throw imageError(what, 'corrupt JPEG (scan header)');
  const scanComponents = Array.from({ length: n }, (_, i) => {
    const c = frame.components.find((k) => k.id === seg[1 + 2 * i]);
    if (!c) throw imageError(what, 'corrupt JPEG (scan names an unknown component)');
    c.dc = seg[2 + 2 * i] >> 4;
    c.ac = seg[2 + 2 * i] & 15;
    if (!tables.dc[c.dc] || !tables.ac[c.ac] || !tables.q[c.tq]) throw imageError(what, 'corrupt JPEG (missing Huffman or quantization table)');
    c.pred = 0;
    return c;
  });
  const reader = new BitReader(data, pos, what);
  // A single-component scan covers only that component's own blocks, in raster order.
  const single = n === 1 ? scanComponents[0] : null;
  const unitsX = single ? Math.ceil(Math.ceil((frame.width * single.h) / frame.hMax) / 8) : frame.mcusX;
  const unitsY = single ? Math.ceil(Math.ceil((frame.height * single.v) / frame.vMax) / 8) : frame.mcusY;
  const total = unitsX * unitsY;
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      reader.restart();
      for (const c of scanComponents) c.pred = 0;
    }
    const mx = m % unitsX;
    const my = Math.floor(m / unitsX);
    if (single) {
      decodeBlock(reader, single, tables, mx, my, what);
      continue;
    }
    for (const c of scanComponents) {
      for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) decodeBlock(reader, c, tables, mx * c.h + h, my * c.v + v, what);
    }
  }
  let next = reader.pos;
  while (next + 1 < data.byteLength && !(data[next] === 0xff && data[next + 1] !== 0 && (data[next + 1] & 0xf8) !== 0xd0)) next++;
  return next;
}

function colour(frame: Frame, adobeRgb: boolean): DecodedImage {
  const { width, height, components } = frame;
  const channels = components.length === 1 ? 1 : 3;
  const data = new Uint8Array(width * height * channels);
  const sample = (c: Component, x: number, y: number) => c.pixels[Math.floor((y * c.v) / frame.vMax) * c.blocksW * 8 + Math.floor((x * c.h) / frame.hMax)];
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (channels === 1) {
        data[o] = sample(components[0], x, y);
        continue;
      }
      const [a, b, c] = components.map((k) => sample(k, x, y));
      if (adobeRgb) {
        data.set([a, b, c], o);
        continue;
      }
      data[o] = clamp(a + 1.402 * (c - 128));
      data[o + 1] = clamp(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      data[o + 2] = clamp(a + 1.772 * (b - 128));
    }
  }
  return { width, height, channels, data };
}

function readTables(seg: Uint8Array, marker: number, tables: { dc: Huffman[]; ac: Huffman[]; q: Int32Array[] }, what: string): void {
  let at = 0;
  while (at < seg.byteLength) {
    const kind = seg[at] >> 4;
    const index = seg[at] & 15;
    if (index > 3) throw imageError(what, 'corrupt JPEG (table index)');
    if (marker === 0xdb) {
      const wide = kind === 1;
      if (at + 1 + 64 * (wide ? 2 : 1) > seg.byteLength) throw imageError(what, 'corrupt JPEG (short quantization table)');
      tables.q[index] = Int32Array.from({ length: 64 }, (_, k) => (wide ? (seg[at + 1 + 2 * k] << 8) | seg[at + 2 + 2 * k] : seg[at + 1 + k]));
      at += 1 + 64 * (wide ? 2 : 1);
    } else {
      const bits = seg.subarray(at + 1, at + 17);
      const size = bits.reduce((a, b) => a + b, 0);
      if (at + 17 + size > seg.byteLength || kind > 1) throw imageError(what, 'corrupt JPEG (Huffman table)');
      (kind === 0 ? tables.dc : tables.ac)[index] = buildHuffman(bits, seg.subarray(at + 17, at + 17 + size), what);
      at += 17 + size;
    }
  }
}

/**
 * Decodes a baseline (sequential, Huffman-coded, 8-bit) JPEG, gray or YCbCr (JFIF; Adobe files
 * marked RGB are kept as RGB), with any sampling factors and restart intervals. Chroma is
 * upsampled by replication; the inverse DCT is exact in float64, so values may differ from
 * libjpeg's integer transforms and smoothed upsampling by a few levels. Progressive, lossless,
 * arithmetic-coded, 12-bit and CMYK files are UNSUPPORTED_FORMAT; corrupt data DATASET_IMAGE_INVALID.
 */
export function decodeJpeg(data: Uint8Array, what: string, limits: ImageDecodeLimits): DecodedImage {
  if (data[0] !== 0xff || data[1] !== 0xd8) throw imageError(what, 'not a JPEG file (no SOI marker)');
  const tables = { dc: [] as Huffman[], ac: [] as Huffman[], q: [] as Int32Array[] };
  let frame: Frame | null = null;
  let restartInterval = 0;
  let adobeRgb = false;
  let scans = 0;
  let pos = 2;
  for (;;) {
    while (data[pos] === 0xff && data[pos + 1] === 0xff) pos++;
    if (pos + 2 > data.byteLength || data[pos] !== 0xff) throw imageError(what, 'corrupt or truncated JPEG (marker expected)');
    const marker = data[pos + 1];
    if (marker === 0xd9) break;
    if (pos + 4 > data.byteLength) throw imageError(what, 'truncated JPEG segment');
    const length = (data[pos + 2] << 8) | data[pos + 3];
    if (length < 2 || pos + 2 + length > data.byteLength) throw imageError(what, 'truncated JPEG segment');
    const seg = data.subarray(pos + 4, pos + 2 + length);
    pos += 2 + length;
    if (marker === 0xc0 || marker === 0xc1) {
      if (frame) throw imageError(what, 'corrupt JPEG (two frames)');
      frame = readFrame(seg, what, limits);
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new CoreError('UNSUPPORTED_FORMAT', `${what}: progressive, lossless or arithmetic-coded JPEG is not supported (baseline only)`, { file: what });
    } else if (marker === 0xc4 || marker === 0xdb) {
      readTables(seg, marker, tables, what);
    } else if (marker === 0xdd) {
      restartInterval = (seg[0] << 8) | seg[1];
    } else if (marker === 0xee && seg.byteLength >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') {
      adobeRgb = seg[11] === 0;
    } else if (marker === 0xda) {
      if (!frame) throw imageError(what, 'corrupt JPEG (scan before frame)');
      if (++scans > 16) throw imageError(what, 'corrupt JPEG (too many scans)');
      pos = decodeScan(data, pos, seg, frame, tables, restartInterval, what);
    }
  }
  if (!frame || scans === 0) throw imageError(what, 'JPEG without image data');
  return colour(frame, adobeRgb);
}
