/**
 * Text that a database can store. PostgreSQL (and PGlite) refuse the NUL character (U+0000) in
 * `text` and `jsonb` values, so every string that may be recorded is checked for it before anything
 * is written: request fields, query strings, and names read from uploaded files.
 */

/** Nesting deeper than this is not walked (JSON from a request or a file header is far shallower). */
const MAX_DEPTH = 64;

function describe(path: string): string {
  return path === '' ? 'the value' : path;
}

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const printable = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? printable : /^[A-Za-z_$]/.test(printable) ? `${path}.${printable}` : `${path}[${printable}]`;
}

/**
 * Where `value` (a string, or plain arrays and objects of them, keys included) holds a NUL
 * character: a path such as `tags[1]` or `metrics["a\u0000b"] (key)`, or null when there is none.
 * Other objects (buffers, dates, class instances with no own string fields) are not walked.
 */
export function findNulCharacter(value: unknown, path = ''): string | null {
  return walk(value, path, 0);
}

function walk(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? describe(path) : null;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = walk(value[i], childPath(path, i), depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return null;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key.includes('\u0000')) return `${childPath(path, key)} (key)`;
    const found = walk(item, childPath(path, key), depth + 1);
    if (found) return found;
  }
  return null;
}

/** The message of a refusal: `<what> contains a NUL character (U+0000), which cannot be stored`. */
export function nulCharacterMessage(where: string): string {
  return `${where} contains a NUL character (U+0000), which cannot be stored`;
}
