import { CoreError } from '../errors';

export interface PixelArrayFormat {
  /** `nested`: `{"data": [[...image...], ...]}`; `flat`: `{"data": [...all pixels...]}`. */
  readonly layout: 'nested' | 'flat';
  /** `byte`: integers 0..255; `unit`: decimals in [0, 1], stored as round(value · 255). */
  readonly scale: 'byte' | 'unit';
  /** Pixels per image. */
  readonly imageSize: number;
}

export interface ScannedPixels {
  /** `count` images of `imageSize` uint8 pixels each. */
  readonly pixels: Uint8Array;
  readonly count: number;
}

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isSpace(ch: number): boolean {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09;
}

/**
 * Reads the pixel arrays of a JSON file `{"data": ...}` straight from its bytes into a Uint8Array,
 * without building JavaScript arrays (JSON.parse of the same files is several times slower and
 * holds every number as a heap value). Empty inner arrays are skipped; any other inner array must
 * hold exactly `imageSize` numbers. Stops after `limit` images when given. `what` names the file
 * in errors.
 */
export function scanPixelArrays(bytes: Uint8Array, format: PixelArrayFormat, what: string, limit = Infinity): ScannedPixels {
  const fail = (message: string, at: number): never => {
    throw new CoreError('DATASET_BUILTIN_UNAVAILABLE', `${what} is not as expected: ${message} at byte ${at}`, { file: what, offset: at });
  };
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('"data"');
  if (key < 0) fail('no "data" key', 0);
  let i = bytes.indexOf(OPEN, key);
  if (i < 0) fail('no array after "data"', key);
  const { imageSize } = format;
  const imageDepth = format.layout === 'nested' ? 2 : 1;
  const capacity = Math.min(Math.ceil(bytes.byteLength / 2), limit * imageSize);
  const out = new Uint8Array(capacity);
  let written = 0;
  let imageStart = 0;
  let depth = 0;
  let count = 0;
  let stopped = false;
  const end = bytes.byteLength;
  for (; i < end; i++) {
    const ch = bytes[i];
    if (ch === COMMA || isSpace(ch)) continue;
    if (ch === OPEN) {
      depth++;
      if (depth > imageDepth) fail('arrays nested too deep', i);
      if (depth === imageDepth) imageStart = written;
      continue;
    }
    if (ch === CLOSE) {
      if (depth === imageDepth && format.layout === 'nested') {
        const length = written - imageStart;
        if (length !== 0 && length !== imageSize) fail(`an image of ${length} pixels instead of ${imageSize}`, i);
        if (length === imageSize && ++count >= limit) {
          stopped = true;
          break;
        }
      }
      if (--depth === 0) break;
      continue;
    }
    if ((ch < ZERO || ch > NINE) && ch !== DOT) fail(`unexpected character ${JSON.stringify(String.fromCharCode(ch))}`, i);
    if (depth !== imageDepth) fail('a number outside an image array', i);
    let whole = 0;
    while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) whole = whole * 10 + (bytes[i++] - ZERO);
    let fraction = 0;
    let divisor = 1;
    if (bytes[i] === DOT) {
      for (i++; i < end && bytes[i] >= ZERO && bytes[i] <= NINE; i++) {
        fraction = fraction * 10 + (bytes[i] - ZERO);
        divisor *= 10;
      }
    }
    i--; // the loop's i++ moves onto the delimiter
    const value = whole + fraction / divisor;
    const pixel = format.scale === 'byte' ? value : Math.round(value * 255);
    if (pixel > 255 || (format.scale === 'byte' && divisor !== 1)) fail(`pixel value ${value} outside the ${format.scale} scale`, i);
    if (written === capacity) {
      stopped = format.layout === 'flat'; // a flat file's limit is reached
      if (stopped) break;
      fail('more pixels than the file can hold', i);
    }
    out[written++] = pixel;
  }
  if (depth !== 0 && !stopped) fail('the data array is not closed', i);
  if (format.layout === 'flat') {
    if (written % imageSize !== 0) fail(`${written} pixels, not a whole number of ${imageSize}-pixel images`, i);
    count = written / imageSize;
  }
  return { pixels: out.subarray(0, count * imageSize), count };
}
