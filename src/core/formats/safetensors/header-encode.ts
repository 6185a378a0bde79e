import { CoreError } from '../../errors';
import { dtypeSize, isDtype, type Dtype } from '../../tensor/dtypes';
import { METADATA_KEY, type SafetensorsEntry } from './types';

/** The header bytes of a file plus the byte length each tensor must then provide, in order. */
export interface SafetensorsLayout {
  /** 8-byte little-endian length followed by the space-padded JSON. */
  header: Uint8Array;
  byteLengths: number[];
  dataLength: number;
}

function badArgument(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('INVALID_ARGUMENT', message, details);
}

function entryByteLength(entry: SafetensorsEntry, index: number): number {
  const { name, dtype, shape } = entry;
  if (typeof name !== 'string') throw badArgument(`tensor #${index}: name must be a string`, { index });
  if (name === METADATA_KEY) throw badArgument(`"${METADATA_KEY}" is reserved and cannot name a tensor`, { tensor: name });
  if (!isDtype(dtype)) throw badArgument(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)}`, { tensor: name, dtype });
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw badArgument(`tensor "${name}": shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, {
      tensor: name,
    });
  }
  if (shape.includes(0)) return 0;
  const byteLength = shape.reduce((n: number, d: number) => n * d, dtypeSize(dtype));
  if (!Number.isSafeInteger(byteLength)) {
    throw badArgument(`tensor "${name}": ${dtype} [${shape.join(', ')}] is too large`, { tensor: name });
  }
  return byteLength;
}

function checkMetadata(metadata: Record<string, string>): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw badArgument('safetensors metadata must be an object of strings');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw badArgument(`safetensors metadata "${key}" must be a string, got ${typeof value}`, { key });
  }
}

function entryJson(name: string, dtype: Dtype, shape: readonly number[], begin: number, end: number): string {
  return `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

/**
 * Lays tensors out in the given order, contiguously from offset 0, and encodes the header the
 * way the reference writer does: compact JSON, `__metadata__` first (omitted when empty), padded
 * with spaces so that the data section starts at a multiple of 8.
 */
export function planSafetensors(entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): SafetensorsLayout {
  const parts: string[] = [];
  if (metadata !== undefined) {
    checkMetadata(metadata);
    if (Object.keys(metadata).length > 0) parts.push(`"${METADATA_KEY}":${JSON.stringify(metadata)}`);
  }
  const names = new Set<string>();
  const byteLengths: number[] = [];
  let offset = 0;
  entries.forEach((entry, index) => {
    const byteLength = entryByteLength(entry, index);
    if (names.has(entry.name)) throw badArgument(`tensor "${entry.name}" is listed twice`, { tensor: entry.name });
    names.add(entry.name);
    parts.push(entryJson(entry.name, entry.dtype, entry.shape, offset, offset + byteLength));
    byteLengths.push(byteLength);
    offset += byteLength;
    if (!Number.isSafeInteger(offset)) throw badArgument('safetensors data section exceeds 2^53 bytes');
  });
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const paddedLength = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + paddedLength).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(paddedLength), true);
  header.set(json, 8);
  return { header, byteLengths, dataLength: offset };
}

/** The 8-byte length plus padded JSON header for tensors laid out in the given order. */
export function encodeSafetensorsHeader(entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): Uint8Array {
  return planSafetensors(entries, metadata).header;
}

export interface InMemoryTensor extends SafetensorsEntry {
  readonly data: Uint8Array;
}

/** A whole safetensors file in memory: for small outputs and tests (use writeSafetensors otherwise). */
export function serializeSafetensors(tensors: readonly InMemoryTensor[], metadata?: Record<string, string>): Uint8Array {
  const { header, byteLengths, dataLength } = planSafetensors(tensors, metadata);
  const out = new Uint8Array(header.byteLength + dataLength);
  out.set(header, 0);
  let offset = header.byteLength;
  tensors.forEach((tensor, i) => {
    if (tensor.data.byteLength !== byteLengths[i]) {
      throw badArgument(
        `tensor "${tensor.name}": ${tensor.dtype} [${tensor.shape.join(', ')}] needs ${byteLengths[i]} bytes, got ${tensor.data.byteLength}`,
        { tensor: tensor.name, expectedBytes: byteLengths[i], actualBytes: tensor.data.byteLength },
      );
    }
    out.set(tensor.data, offset);
    offset += byteLengths[i];
  });
  return out;
}
