import { pickleError } from './pickle-values';

/** Decoding of protocol-0 (text) opcode arguments. */

/** ISO-8859-1 as Python means it (byte n → U+00nn); TextDecoder's 'latin1' is windows-1252. */
export function latin1Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A Python int literal (optionally with the Python 2 'L' suffix): number when safe, else bigint. */
export function parseIntText(text: string): number | bigint {
  const match = /^\s*([+-]?\d{1,4000})L?\s*$/.exec(text);
  if (!match) throw pickleError(`invalid integer literal in pickle: ${JSON.stringify(text.slice(0, 40))}`);
  return normaliseInt(BigInt(match[1]));
}

export function normaliseInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Two's-complement little-endian integer (LONG1 / LONG4). */
export function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.byteLength === 0) return 0;
  let value = 0n;
  for (let i = bytes.byteLength - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.byteLength - 1] & 0x80) value -= 1n << BigInt(8 * bytes.byteLength);
  return normaliseInt(value);
}

export function parseFloatText(text: string): number {
  const trimmed = text.trim();
  if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(trimmed)) return Number(trimmed);
  const special: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity };
  const value = special[trimmed.toLowerCase()];
  if (value === undefined) throw pickleError(`invalid float literal in pickle: ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '',
};

/** A quoted Python 2 string repr (STRING opcode), decoded as latin-1. */
export function unquotePythonString(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text[text.length - 1] !== quote) {
    throw pickleError('STRING opcode argument is not a quoted string');
  }
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[++i];
    if (next === undefined) throw pickleError('STRING opcode argument ends with a backslash');
    if (next in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[next];
    } else if (next === 'x') {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw pickleError('invalid \\x escape in STRING opcode');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(octal, 8) & 0xff);
      i += octal.length - 1;
    } else {
      out += '\\' + next;
    }
  }
  return out;
}

/** Python's raw-unicode-escape (UNICODE opcode): latin-1 bytes plus \uXXXX / \UXXXXXXXX. */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string {
  const text = latin1Text(bytes);
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short?: string, long?: string) => {
    const code = parseInt(short ?? long ?? '0', 16);
    if (code > 0x10ffff) throw pickleError('invalid \\U escape in UNICODE opcode');
    return String.fromCodePoint(code);
  });
}
