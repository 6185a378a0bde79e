import { imageError } from './png-decode';

/** Huffman decoding and the bit stream of a baseline JPEG scan (byte stuffing, restart markers). */

export interface Huffman {
  /** For each code length 1..16: the first code, the number of codes, the index of its first value. */
  first: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  values: Uint8Array;
}

export class BitReader {
  private bits = 0;
  private count = 0;
  constructor(
    private readonly data: Uint8Array,
    public pos: number,
    private readonly what: string,
  ) {}

  bit(): number {
    if (this.count === 0) {
      if (this.pos >= this.data.byteLength) throw imageError(this.what, 'truncated JPEG scan');
      const byte = this.data[this.pos++];
      if (byte === 0xff) {
        const next = this.data[this.pos];
        if (next !== 0x00) throw imageError(this.what, `corrupt JPEG (marker 0xFF${(next ?? 0).toString(16)} inside entropy-coded data)`);
        this.pos++;
      }
      this.bits = byte;
      this.count = 8;
    }
    this.count--;
    return (this.bits >> this.count) & 1;
  }

  receive(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  /** Drops the partial byte and expects RSTn at the next byte. */
  restart(): void {
    this.count = 0;
    if (this.data[this.pos] !== 0xff || (this.data[this.pos + 1] & 0xf8) !== 0xd0) throw imageError(this.what, 'corrupt JPEG (restart marker missing)');
    this.pos += 2;
  }
}

export function buildHuffman(bits: Uint8Array, values: Uint8Array, what: string): Huffman {
  const first = new Int32Array(17);
  const count = new Int32Array(17);
  const offset = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    first[len] = code;
    count[len] = bits[len - 1];
    offset[len] = k;
    code += bits[len - 1];
    k += bits[len - 1];
    if (code > 1 << len) throw imageError(what, 'corrupt JPEG (over-subscribed Huffman table)');
    code <<= 1;
  }
  if (k !== values.byteLength) throw imageError(what, 'corrupt JPEG (Huffman table size)');
  return { first, count, offset, values };
}

export function decodeSymbol(reader: BitReader, table: Huffman, what: string): number {
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    code = (code << 1) | reader.bit();
    const index = code - table.first[len];
    if (index >= 0 && index < table.count[len]) return table.values[table.offset[len] + index];
  }
  throw imageError(what, 'corrupt JPEG (invalid Huffman code)');
}

export function extend(v: number, n: number): number {
  return n === 0 ? 0 : v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
}
