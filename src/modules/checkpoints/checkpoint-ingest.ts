import { CoreError } from '../../core/errors';
import { detectCheckpointFormat, openCheckpoint, writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import { readSafetensorsHeader } from '../../core/formats/safetensors';
import type { SafetensorsHeader } from '../../core/formats/safetensors';
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

function manifestOf(header: SafetensorsHeader): ManifestEntry[] {
  return header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteOffset: t.byteOffset, byteLength: t.byteLength }));
}

/**
 * Validates an uploaded file and turns it into stored safetensors: safetensors is kept as sent;
 * PyTorch (zip, legacy, joblib) and ONNX files are converted tensor by tensor through the
 * restricted readers. Every failure is a typed CoreError and leaves only staged files, which the
 * caller discards, so nothing is stored.
 */
export async function ingestUpload(upload: StagedBlob, filename: string, store: BlobStore, options: IngestOptions): Promise<IngestedCheckpoint> {
  return withFileSource(upload.path, async (source) => {
    const format = await detectCheckpointFormat(source, filename);
    if (format === 'safetensors') {
      const header = await readSafetensorsHeader(source, { maxHeaderBytes: options.maxHeaderBytes });
      return { staged: upload, originalFormat: 'safetensors', manifest: manifestOf(header), metadata: header.metadata ?? {} };
    }
    const set = await openCheckpoint(source, { filename, maxHeaderBytes: options.maxHeaderBytes });
    const missing = set.metadata.initializersWithoutData;
    if (format === 'onnx' && Array.isArray(missing) && missing.length > 0) {
      throw new CoreError('ONNX_EXTERNAL_DATA_MISSING', `the ONNX file has ${missing.length} initializer(s) without data (e.g. ${String(missing[0])}); upload a model with its initializers embedded`, {
        initializers: missing.slice(0, 20),
      });
    }
    const target = store.tempPath('.safetensors');
    const written = await writeTensorSetAsSafetensors(set, target);
    const staged = await store.adopt(target, { sha256: written.sha256, size: written.bytesWritten }).catch(async (e: unknown) => {
      await store.discard(target);
      throw e;
    });
    const header = await withFileSource(staged.path, (converted) => readSafetensorsHeader(converted, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }));
    const { initializersWithoutData: _omit, ...metadata } = set.metadata;
    return { staged, originalFormat: format, manifest: manifestOf(header), metadata };
  });
}
