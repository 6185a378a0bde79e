/** A key that occurs twice in one JSON object. */
export interface DuplicateKey {
  key: string;
  /** The enclosing top-level key when the duplicate is nested (e.g. a tensor entry), else null. */
  parentKey: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the quote closing the string that opens at `start`. */
function stringEnd(json: string, start: number): number {
  let end = json.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (json.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = json.indexOf('"', end + 1);
  }
}

/**
 * Finds the first duplicated key in any object of `json`, which must already be known to be
 * valid JSON (JSON.parse keeps the last duplicate silently, and safetensors forbids them).
 */
export function findDuplicateKey(json: string): DuplicateKey | null {
  // One entry per open container: the keys seen so far for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let topKey: string | null = null;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === QUOTE) {
      const end = stringEnd(json, i);
      const keys = stack[stack.length - 1];
      let next = end + 1;
      while (isJsonWhitespace(json.charCodeAt(next))) next++;
      if (keys && json.charCodeAt(next) === COLON) {
        const raw = json.slice(i, end + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return { key, parentKey: stack.length === 1 ? null : topKey };
        keys.add(key);
        if (stack.length === 1) topKey = key;
      }
      i = end;
    }
  }
  return null;
}
