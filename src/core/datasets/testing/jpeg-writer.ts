/**
 * A minimal baseline JPEG writer for tests: blocks are given as quantized coefficients in zig-zag
 * order (no forward DCT), with quantization tables of ones, so that the decoder's inverse DCT,
 * zig-zag order, Huffman decoding, sampling and colour conversion are checked against values
 * computed by hand.
 */
export interface JpegComponentSpec {
  id: number;
  h: number;
  v: number;
  /** One 64-entry zig-zag block per 8×8 block, in MCU order (each MCU: v rows of h blocks). */
  blocks: number[][];
}

export interface JpegSpec {
  width: number;
  height: number;
  components: JpegComponentSpec[];
  restartInterval?: number;
  /** SOF marker (default 0xC0, baseline). */
  sof?: number;
}

/** DC: 12 categories with code lengths 2..9; AC: EOB, ZRL and every (run, size) with 8 or 9 bits. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_VALUES = [0x00, 0xf0, ...Array.from({ length: 160 }, (_, i) => ((i / 10) << 4) | ((i % 10) + 1))];
const AC_BITS = [0, 0, 0, 0, 0, 0, 0, 100, 62, 0, 0, 0, 0, 0, 0, 0];

function codes(bits: number[], values: number[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  bits.forEach((count, i) => {
    for (let j = 0; j < count; j++) out.set(values[k++], [code++, i + 1]);
    code <<= 1;
  });
  return out;
}

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads with ones to a byte boundary. */
  align(): void {
    while (this.n !== 0) this.put(1, 1);
  }
}

function category(v: number): number {
  let a = Math.abs(v);
  let n = 0;
  while (a > 0) {
    a >>= 1;
    n++;
  }
  return n;
}

function putValue(w: BitWriter, v: number, n: number): void {
  if (n > 0) w.put(v >= 0 ? v : v + (1 << n) - 1, n);
}

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
}

export function encodeJpeg(spec: JpegSpec): Uint8Array {
  const dc = codes(DC_BITS, DC_VALUES);
  const ac = codes(AC_BITS, AC_VALUES);
  const out: number[] = [0xff, 0xd8];
  out.push(...segment(0xdb, [0, ...new Array(64).fill(1)]));
  out.push(...segment(spec.sof ?? 0xc0, [8, spec.height >> 8, spec.height & 0xff, spec.width >> 8, spec.width & 0xff, spec.components.length, ...spec.components.flatMap((c) => [c.id, (c.h << 4) | c.v, 0])]));
  out.push(...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, ...AC_VALUES]));
  if (spec.restartInterval) out.push(...segment(0xdd, [spec.restartInterval >> 8, spec.restartInterval & 0xff]));
  out.push(...segment(0xda, [spec.components.length, ...spec.components.flatMap((c) => [c.id, 0x00]), 0, 63, 0]));
  const w = new BitWriter();
  const perMcu = spec.components.map((c) => c.h * c.v);
  const mcus = spec.components[0].blocks.length / perMcu[0];
  const pred = spec.components.map(() => 0);
  for (let m = 0; m < mcus; m++) {
    if (spec.restartInterval && m > 0 && m % spec.restartInterval === 0) {
      w.align();
      w.bytes.push(0xff, 0xd0 + ((m / spec.restartInterval - 1) % 8));
      pred.fill(0);
    }
    spec.components.forEach((c, ci) => {
      for (let b = 0; b < perMcu[ci]; b++) {
        const block = c.blocks[m * perMcu[ci] + b];
        const diff = block[0] - pred[ci];
        pred[ci] = block[0];
        const [dcCode, dcLength] = dc.get(category(diff)) as [number, number];
        w.put(dcCode, dcLength);
        putValue(w, diff, category(diff));
        let run = 0;
        for (let k = 1; k < 64; k++) {
          if (block[k] === 0) {
            run++;
            continue;
          }
          for (; run > 15; run -= 16) w.put(...(ac.get(0xf0) as [number, number]));
          const s = category(block[k]);
          w.put(...(ac.get((run << 4) | s) as [number, number]));
          putValue(w, block[k], s);
          run = 0;
        }
        if (run > 0) w.put(...(ac.get(0x00) as [number, number]));
      }
    });
  }
  w.align();
  out.push(...w.bytes, 0xff, 0xd9);
  return Uint8Array.from(out);
}

/** A zig-zag block with a DC term only: every pixel of its 8×8 block is 128 + dc / 8. */
export function flatBlock(value: number): number[] {
  const block = new Array(64).fill(0);
  block[0] = (value - 128) * 8;
  return block;
}
