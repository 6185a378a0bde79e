/**
 * A tiny pickle writer for tests: encodes a small value DSL the way CPython's pickler would
 * (protocol 2 by default), memoising containers by identity so shared objects become BINGETs.
 */

export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}
export class PyGlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
export class PyCall {
  constructor(
    readonly callable: PickleValue,
    readonly args: PyTuple,
  ) {}
}
export class PyPersistent {
  constructor(readonly id: PickleValue) {}
}
export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}
export class PyFloat {
  constructor(readonly value: number) {}
}
/** collections.OrderedDict as CPython pickles it: REDUCE of (), SETITEMS, then BUILD of any instance state. */
export class PyOrderedDict {
  constructor(
    readonly entries: Map<PickleValue, PickleValue>,
    readonly state: PickleValue | undefined,
  ) {}
}
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PyTuple
  | PyGlobalRef
  | PyCall
  | PyPersistent
  | PyBytes
  | PyFloat
  | PyOrderedDict;

export const tuple = (...items: PickleValue[]) => new PyTuple(items);
export const global = (module: string, name: string) => new PyGlobalRef(module, name);
export const call = (callable: PickleValue, ...args: PickleValue[]) => new PyCall(callable, new PyTuple(args));
export const persistent = (id: PickleValue) => new PyPersistent(id);
export const pyBytes = (bytes: Uint8Array) => new PyBytes(bytes);
export const pyFloat = (value: number) => new PyFloat(value);
export const orderedDict = (entries: Record<string, PickleValue>, state?: PickleValue) => new PyOrderedDict(dict(entries), state);
export const dict = (entries: Record<string, PickleValue> | [PickleValue, PickleValue][]) =>
  new Map<PickleValue, PickleValue>(Array.isArray(entries) ? entries : Object.entries(entries));

export interface PickleWriteOptions {
  /** 2 writes GLOBAL; 4 writes STACK_GLOBAL, SHORT_BINUNICODE and MEMOIZE, like joblib. */
  readonly protocol?: 2 | 4;
}

export function writePickle(value: PickleValue, opts: PickleWriteOptions = {}): Uint8Array {
  const protocol = opts.protocol ?? 2;
  const out: number[] = [0x80, protocol];
  const memo = new Map<object, number>();
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const raw = (bytes: Uint8Array | number[]) => {
    for (const b of bytes) out.push(b);
  };
  const str = (s: string) => {
    const bytes = new TextEncoder().encode(s);
    if (protocol >= 4 && bytes.length < 256) out.push(0x8c, bytes.length);
    else { out.push(0x58); u32(bytes.length); }
    raw(bytes);
  };
  const remember = (obj: object) => {
    const index = memo.size;
    memo.set(obj, index);
    if (protocol >= 4) out.push(0x94);
    else if (index < 256) out.push(0x71, index);
    else { out.push(0x72); u32(index); }
  };
  const recall = (obj: object): boolean => {
    const index = memo.get(obj);
    if (index === undefined) return false;
    if (index < 256) out.push(0x68, index);
    else { out.push(0x6a); u32(index); }
    return true;
  };
  const encode = (v: PickleValue): void => {
    if (v === null) return void out.push(0x4e);
    if (v === true || v === false) return void out.push(v ? 0x88 : 0x89);
    if (typeof v === 'number' || typeof v === 'bigint') return encodeInt(BigInt(v));
    if (typeof v === 'string') return str(v);
    if (v instanceof PyFloat) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value, false);
      out.push(0x47);
      return raw(b);
    }
    if (recall(v)) return;
    if (v instanceof PyBytes) {
      if (v.bytes.length < 256) out.push(0x43, v.bytes.length);
      else { out.push(0x42); u32(v.bytes.length); }
      raw(v.bytes);
    } else if (v instanceof PyGlobalRef) {
      if (protocol >= 4) { str(v.module); str(v.name); out.push(0x93); }
      else { out.push(0x63); raw(new TextEncoder().encode(`${v.module}\n${v.name}\n`)); }
    } else if (v instanceof PyTuple) {
      if (v.items.length === 0) return void out.push(0x29);
      if (v.items.length <= 3) { v.items.forEach(encode); out.push(0x84 + v.items.length); }
      else { out.push(0x28); v.items.forEach(encode); out.push(0x74); }
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      remember(v);
      if (v.length) { out.push(0x28); v.forEach(encode); out.push(0x65); }
      return;
    } else if (v instanceof Map) {
      out.push(0x7d);
      remember(v);
      if (v.size) {
        out.push(0x28);
        for (const [k, item] of v) { encode(k); encode(item); }
        out.push(0x75);
      }
      return;
    } else if (v instanceof PyCall) {
      encode(v.callable);
      encode(v.args);
      out.push(0x52);
    } else if (v instanceof PyOrderedDict) {
      encode(global('collections', 'OrderedDict'));
      out.push(0x29, 0x52);
      remember(v);
      if (v.entries.size) {
        out.push(0x28);
        for (const [k, item] of v.entries) { encode(k); encode(item); }
        out.push(0x75);
      }
      if (v.state !== undefined) { encode(v.state); out.push(0x62); }
      return;
    } else if (v instanceof PyPersistent) {
      encode(v.id);
      out.push(0x51);
      return;
    }
    remember(v);
  };
  const encodeInt = (n: bigint) => {
    if (n >= 0n && n < 256n) return void out.push(0x4b, Number(n));
    if (n >= 0n && n < 65536n) return void out.push(0x4d, Number(n) & 0xff, Number(n) >> 8);
    if (n >= -(2n ** 31n) && n < 2n ** 31n) return void (out.push(0x4a), u32(Number(n)));
    const bytes: number[] = [];
    let rest = n;
    while (bytes.length === 0 || !((rest === 0n && !(bytes[bytes.length - 1] & 0x80)) || (rest === -1n && bytes[bytes.length - 1] & 0x80))) {
      bytes.push(Number(rest & 0xffn));
      rest >>= 8n;
    }
    out.push(0x8a, bytes.length, ...bytes);
  };
  encode(value);
  out.push(0x2e);
  return Uint8Array.from(out);
}
