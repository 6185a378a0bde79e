import { readSafetensorsHeader } from '../../core/formats/safetensors';
import { withFileSource } from '../../core/io/random-access';
import type { BlobStore, StagedBlob } from '../../core/storage/blob-store.port';
import type { ManifestEntry } from './checkpoint.types';

export interface IngestedCheckpoint {
  /** The staged safetensors bytes to publish (the upload itself, or its conversion). */
  staged: StagedBlob;
  originalFormat: string;
  manifest: ManifestEntry[];
  metadata: Record<string, unknown>;
}

export interface IngestOptions {
  maxHeaderBytes: number;
}

/**
 * Validates an uploaded file and turns it into stored safetensors. Every failure is a typed
 * CoreError; the caller discards the staged upload, so nothing is stored.
 */
export async function ingestUpload(upload: StagedBlob, _filename: string, _store: BlobStore, options: IngestOptions): Promise<IngestedCheckpoint> {
  const header = await withFileSource(upload.path, (source) => readSafetensorsHeader(source, { maxHeaderBytes: options.maxHeaderBytes }));
  return {
    staged: upload,
    originalFormat: 'safetensors',
    manifest: header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteOffset: t.byteOffset, byteLength: t.byteLength })),
    metadata: header.metadata ?? {},
  };
}
