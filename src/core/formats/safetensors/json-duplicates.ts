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
 * Keys seen in one object. Nested objects (tensor entries) hold a handful of keys, so a plain
 * array is cheaper to create than a Set; it becomes a Set only when it grows.
 */
class KeySet {
  private list: string[] = [];
  private set: Set<string> | null = null;

  /** Adds `key`; false when it was already there. */
  add(key: string): boolean {
    if (this.set) return this.set.size !== this.set.add(key).size;
    if (this.list.includes(key)) return false;
    this.list.push(key);
    if (this.list.length > 16) this.set = new Set(this.list);
    return true;
  }
}

/**
 * Finds the first duplicated key in any object of `json`, which must already be known to be
 * valid JSON (JSON.parse keeps the last duplicate silently, and safetensors forbids them).
 */
export function findDuplicateKey(json: string): DuplicateKey | null {
  // One entry per open container: the keys seen so far for objects, null for arrays.
  const stack: (KeySet | null)[] = [];
  let topKey: string | null = null;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push(new KeySet());
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
        if (!keys.add(key)) return { key, parentKey: stack.length === 1 ? null : topKey };
        if (stack.length === 1) topKey = key;
      }
      i = end;
    }
  }
  return null;
}
