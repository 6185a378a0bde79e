import { CoreError } from '../../errors';
import { DTYPES, dtypeSize, isDtype } from '../../tensor/dtypes';
import { findDuplicateKey } from './json-duplicates';
import { METADATA_KEY, type SafetensorsHeader, type SafetensorsTensorInfo } from './types';

const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('SAFETENSORS_HEADER_INVALID', message, details);
}

/** Header strings are untrusted and may be huge: messages quote at most MAX_QUOTED characters. */
const MAX_QUOTED = 120;

function preview(text: string): string {
  return text.length <= MAX_QUOTED ? text : `${text.slice(0, MAX_QUOTED)}…`;
}

function quote(text: string): string {
  return preview(JSON.stringify(text));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${preview(JSON.stringify(value))}`;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function decodeJsonObject(bytes: Uint8Array): { text: string; object: Record<string, unknown> } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new CoreError('SAFETENSORS_HEADER_INVALID_JSON', 'safetensors header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new CoreError('SAFETENSORS_HEADER_INVALID_JSON', `safetensors header is not valid JSON: ${reason}`, {
      headerLength: bytes.byteLength,
    });
  }
  if (!isPlainObject(parsed)) {
    throw new CoreError('SAFETENSORS_HEADER_INVALID_JSON', `safetensors header must be a JSON object, got ${describe(parsed)}`);
  }
  return { text, object: parsed };
}

function checkNoDuplicateKeys(text: string): void {
  const duplicate = findDuplicateKey(text);
  if (!duplicate) return;
  const { key, parentKey } = duplicate;
  if (parentKey !== null) {
    throw invalid(`safetensors header: key ${quote(key)} appears twice in ${quote(parentKey)}`, { tensor: parentKey, key });
  }
  if (key === METADATA_KEY) throw invalid(`safetensors header: "${METADATA_KEY}" appears twice`);
  throw new CoreError('SAFETENSORS_DUPLICATE_TENSOR', `safetensors header lists tensor ${quote(key)} twice`, { tensor: key });
}

function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === null) return null;
  if (!isPlainObject(value)) {
    throw invalid(`safetensors "${METADATA_KEY}" must be an object of strings, got ${describe(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw invalid(`safetensors "${METADATA_KEY}" value of ${quote(key)} must be a string, got ${describe(item)}`, { key });
    }
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

interface RawEntry {
  name: string;
  dtype: SafetensorsTensorInfo['dtype'];
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, value: unknown): RawEntry {
  if (!isPlainObject(value)) {
    throw invalid(`tensor ${quote(name)}: entry must be an object with dtype, shape and data_offsets, got ${describe(value)}`, {
      tensor: name,
    });
  }
  let keyCount = 0;
  for (const key in value) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') {
      throw invalid(`tensor ${quote(name)}: unexpected key ${quote(key)}`, { tensor: name, key });
    }
    keyCount++;
  }
  if (keyCount !== ENTRY_KEYS.length) {
    const key = ENTRY_KEYS.find((k) => !Object.hasOwn(value, k)) ?? ENTRY_KEYS[0];
    throw invalid(`tensor ${quote(name)}: missing ${quote(key)}`, { tensor: name, key });
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw invalid(`tensor ${quote(name)}: dtype must be a string, got ${describe(dtype)}`, { tensor: name });
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw invalid(`tensor ${quote(name)}: shape must be an array of non-negative integers, got ${preview(JSON.stringify(shape))}`, {
      tensor: name,
    });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw invalid(`tensor ${quote(name)}: data_offsets must be two non-negative integers, got ${preview(JSON.stringify(offsets))}`, {
      tensor: name,
    });
  }
  if (!isDtype(dtype)) {
    throw new CoreError(
      'SAFETENSORS_UNKNOWN_DTYPE',
      `tensor ${quote(name)}: unsupported dtype ${quote(dtype)} (supported: ${DTYPES.join(', ')})`,
      { tensor: name, dtype },
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new CoreError('SAFETENSORS_OFFSETS_INVALID', `tensor ${quote(name)}: data_offsets begin ${begin} is after end ${end}`, {
      tensor: name,
      begin,
      end,
    });
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Bytes a dtype/shape needs; may exceed 2^53 (or be Infinity), which can never match an offset span. */
function expectedByteLength(entry: RawEntry): number {
  if (entry.shape.includes(0)) return 0;
  let n = dtypeSize(entry.dtype);
  for (const d of entry.shape) n *= d;
  return n;
}

function exactByteLength(entry: RawEntry): bigint {
  return entry.shape.reduce((n, d) => n * BigInt(d), BigInt(dtypeSize(entry.dtype)));
}

/** A byte count for error details: a number when exact, else its decimal string. */
function asDetail(bytes: bigint): number | string {
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : bytes.toString();
}

/** Offsets must tile the data section exactly: sorted, contiguous from 0, no overlap, no tail. */
function layoutTensors(entries: RawEntry[], dataOffset: number, dataLength: number): SafetensorsTensorInfo[] {
  const inOrder = (a: RawEntry, b: RawEntry): number => a.begin - b.begin || a.end - b.end;
  // Writers emit entries in offset order, so the sort is usually skipped.
  const sorted = entries.every((e, i) => i === 0 || inOrder(entries[i - 1], e) <= 0) ? entries : [...entries].sort(inOrder);
  let expectedBegin = 0;
  let previous: string | null = null;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const entry of sorted) {
    const { name, begin, end } = entry;
    if (begin !== expectedBegin) {
      const where =
        begin < expectedBegin
          ? `overlaps the previous tensor ${quote(previous ?? '')}, which ends at ${expectedBegin}`
          : previous === null
            ? 'leaves a gap at the start of the data section (offsets must start at 0)'
            : `leaves a gap after ${quote(previous)}, which ends at ${expectedBegin}`;
      throw new CoreError('SAFETENSORS_OFFSETS_INVALID', `tensor ${quote(name)}: data_offsets [${begin}, ${end}] ${where}`, {
        tensor: name,
        begin,
        end,
        expectedBegin,
      });
    }
    const byteLength = end - begin;
    if (expectedByteLength(entry) !== byteLength) {
      const needed = exactByteLength(entry);
      throw new CoreError(
        'SAFETENSORS_SHAPE_MISMATCH',
        `tensor ${quote(name)}: ${entry.dtype} ${preview(`[${entry.shape.join(', ')}]`)} needs ${needed} bytes but data_offsets [${begin}, ${end}] span ${byteLength}`,
        { tensor: name, dtype: entry.dtype, shape: entry.shape, expectedBytes: asDetail(needed), actualBytes: byteLength },
      );
    }
    tensors.push({
      name,
      dtype: entry.dtype,
      shape: entry.shape,
      dataOffsets: [begin, end],
      byteOffset: dataOffset + begin,
      byteLength,
    });
    expectedBegin = end;
    previous = name;
  }
  if (expectedBegin !== dataLength) {
    throw new CoreError(
      'SAFETENSORS_OFFSETS_INVALID',
      expectedBegin < dataLength
        ? `safetensors data section holds ${dataLength} bytes but its tensors cover only ${expectedBegin} (trailing bytes are not allowed)`
        : `safetensors tensors need ${expectedBegin} bytes of data but the file holds only ${dataLength} after the header`,
      { dataLength, tensorsEnd: expectedBegin, ...(previous === null ? {} : { tensor: previous }) },
    );
  }
  return tensors;
}

/** Validates a header's JSON bytes against the file layout, without reading any tensor data. */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = headerBytes.byteLength;
  const dataOffset = 8 + headerLength;
  const { text, object } = decodeJsonObject(headerBytes);
  checkNoDuplicateKeys(text);
  let metadata: Record<string, string> | null = null;
  const entries: RawEntry[] = [];
  for (const [name, value] of Object.entries(object)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value);
    else entries.push(parseEntry(name, value));
  }
  const tensors = layoutTensors(entries, dataOffset, fileSize - dataOffset);
  return { headerLength, dataOffset, tensors, metadata, fileSize };
}
