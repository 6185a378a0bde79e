import type { Dtype } from '../../tensor/dtypes';

/** One tensor entry of a validated safetensors header. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** [begin, end) relative to the start of the data section, as written in the header. */
  dataOffsets: [number, number];
  /** Absolute position of the tensor's first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** Length of the JSON header in bytes (the file's leading u64). */
  headerLength: number;
  /** Absolute position of the data section: 8 + headerLength. */
  dataOffset: number;
  /** Tensors sorted by data offset (file order). */
  tensors: SafetensorsTensorInfo[];
  /** The `__metadata__` string map, or null when the header has none. */
  metadata: Record<string, string> | null;
  fileSize: number;
}

/** What the writer needs to lay out a tensor: its bytes come later. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

/** The default cap on the JSON header size, as a guard against memory exhaustion. */
export const DEFAULT_MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Largest chunk a lazy tensor read from a safetensors source yields. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export const METADATA_KEY = '__metadata__';
