import { CoreError } from '../errors';
import { type Dtype, isDtype } from '../tensor/dtypes';

/** Bounds on untrusted graph JSON, so that a hostile document cannot exhaust memory or time. */
export const GRAPH_JSON_LIMITS = {
  nodes: 200_000,
  initializers: 200_000,
  valueInfo: 1_000_000,
  graphInputsOutputs: 10_000,
  nodeInputsOutputs: 10_000,
  attributesPerNode: 256,
  attributeArrayLength: 1_000_000,
  /** Elements of all Constant tensors together. */
  constantElements: 10_000_000,
  stringLength: 4096,
  rank: 64,
} as const;

export function graphJsonError(path: string, message: string): CoreError {
  return new CoreError('GRAPH_INVALID', `${path}: ${message}`, { path });
}

/** `$.a.b[3]` / `$.attributes["odd key"]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

export function readObject(value: unknown, path: string, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw graphJsonError(path, `expected an object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw graphJsonError(childPath(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) throw graphJsonError(childPath(path, key), 'missing');
  }
  return record;
}

export function readArray(value: unknown, path: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) throw graphJsonError(path, `expected an array, got ${describe(value)}`);
  if (value.length > maxLength) throw graphJsonError(path, `has ${value.length} entries, more than the limit ${maxLength}`);
  return value;
}

export function readString(value: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') throw graphJsonError(path, `expected a string, got ${describe(value)}`);
  if (value.length > GRAPH_JSON_LIMITS.stringLength) {
    throw graphJsonError(path, `string of ${value.length} characters, longer than ${GRAPH_JSON_LIMITS.stringLength}`);
  }
  if (opts.nonEmpty && value === '') throw graphJsonError(path, 'must not be empty');
  return value;
}

export function readBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw graphJsonError(path, `expected true or false, got ${describe(value)}`);
  return value;
}

export function readInteger(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw graphJsonError(path, `expected an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function readDtype(value: unknown, path: string): Dtype {
  if (!isDtype(value)) throw graphJsonError(path, `expected a dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL), got ${describe(value)}`);
  return value;
}

/** A static shape: non-negative integer dims whose product is a safe integer. */
export function readStaticShape(value: unknown, path: string): number[] {
  const dims = readArray(value, path, GRAPH_JSON_LIMITS.rank).map((d, i) => readInteger(d, childPath(path, i), 0));
  let product = 1;
  for (const d of dims) {
    product *= d;
    if (!Number.isSafeInteger(product)) throw graphJsonError(path, 'has more elements than a safe integer can count');
  }
  return dims;
}

/** A value shape: dims are non-negative integers or symbolic names. */
export function readValueShape(value: unknown, path: string): (number | string)[] {
  return readArray(value, path, GRAPH_JSON_LIMITS.rank).map((d, i) =>
    typeof d === 'string' ? readString(d, childPath(path, i), { nonEmpty: true }) : readInteger(d, childPath(path, i), 0),
  );
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

/** A tensor element: a finite number, or "NaN" / "Infinity" / "-Infinity" (JSON has no such numbers). */
export function readElement(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(NON_FINITE, value)) return NON_FINITE[value];
  throw graphJsonError(path, `expected a number, got ${describe(value)}`);
}

export function writeElement(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}
