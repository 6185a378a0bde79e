import { CoreError, type CoreErrorCode } from '../../errors';
import type { RandomAccessSource } from '../../io/random-access';
import type { Dtype } from '../../tensor/dtypes';

/**
 * JS shapes of the Python objects the restricted unpickler can produce. Plain values map to JS:
 * None → null, bool → boolean, int → number (bigint beyond 2^53), float → number, str → string,
 * bytes → Uint8Array or SourceBytes, list → array, tuple → frozen array, dict → Map.
 */

/** A bytes payload left in the source (large BINBYTES are not copied). */
export class SourceBytes {
  constructor(
    readonly source: RandomAccessSource,
    readonly offset: number,
    readonly length: number,
  ) {}
}

export class PySet {
  constructor(
    readonly items: unknown[],
    readonly frozen: boolean,
  ) {}
}

/** Where a storage's bytes live once known (legacy files learn it after the main pickle). */
export interface StorageData {
  readonly source: RandomAccessSource;
  readonly offset: number;
  readonly byteLength: number;
}

/** A torch storage: `numel` elements of `dtype`, possibly a view into another storage. */
export class StorageRef {
  data: StorageData | undefined;
  constructor(
    readonly key: string,
    readonly dtype: Dtype,
    public numel: number,
    readonly base?: { readonly storage: StorageRef; readonly elementOffset: number },
  ) {}
}

/** A strided view of a storage, as built by torch._utils._rebuild_tensor_v2. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

export function pickleError(message: string, details?: Record<string, unknown>, code: CoreErrorCode = 'PICKLE_INVALID'): CoreError {
  return new CoreError(code, message, details);
}

export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

export function isList(value: unknown): value is unknown[] {
  return Array.isArray(value) && !Object.isFrozen(value);
}

export function isDict(value: unknown): value is Map<unknown, unknown> {
  return value instanceof Map;
}

export function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (isTuple(value)) return 'tuple';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'dict';
  if (value instanceof Uint8Array || value instanceof SourceBytes) return 'bytes';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
