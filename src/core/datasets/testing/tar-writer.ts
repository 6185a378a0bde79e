/** A minimal ustar writer for tests: regular files, plus a pax `path` record for long names. */
function header(name: string, size: number, type: string): Uint8Array {
  const block = new Uint8Array(512);
  const put = (text: string, at: number) => block.set(new TextEncoder().encode(text), at);
  put(name.slice(0, 99), 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put(type, 156);
  put('ustar\0' + '00', 257);
  put('        ', 148);
  const sum = block.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 512) * 512);
  out.set(bytes);
  return out;
}

export function writeTar(files: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, content] of files) {
    if (name.length > 99) {
      const record = ` path=${name}\n`;
      // The record's length counts its own digits.
      let length = record.length + 2;
      if (String(length + 1).length > 2) length = record.length + String(record.length + 3).length;
      const pax = new TextEncoder().encode(`${length}${record}`);
      parts.push(header('PaxHeader', pax.byteLength, 'x'), padded(pax));
    }
    parts.push(header(name, content.byteLength, '0'), padded(content));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}
