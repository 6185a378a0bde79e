import { CoreError } from '../../core/errors';
import { detectCheckpointFormat, openCheckpoint, writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import { readSafetensorsHeader } from '../../core/formats/safetensors';
import type { SafetensorsHeader } from '../../core/formats/safetensors';
import type { RandomAccessSource } from '../../core/io/random-access';
import type { BlobStore, StagedBlob, StagedWriter } from '../../core/storage/blob-store.port';
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
  /** Tensor bytes a converted upload may take (CHECKPOINT_TOO_LARGE otherwise, before anything is written). */
  maxConvertedBytes: number;
}

export function manifestOf(header: SafetensorsHeader): ManifestEntry[] {
  return header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteOffset: t.byteOffset, byteLength: t.byteLength }));
}

/** Runs `fn` on random access to staged bytes, always closing it. */
export async function withStaged<T>(store: BlobStore, staged: StagedBlob, fn: (source: RandomAccessSource) => Promise<T>): Promise<T> {
  const source = await store.openStaged(staged);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/** Finishes a staged writer, or aborts it when `write` fails (nothing stays staged). */
export async function writeStaged(writer: StagedWriter, write: (writer: StagedWriter) => Promise<unknown>): Promise<StagedBlob> {
  try {
    await write(writer);
    return await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/**
 * Validates an uploaded file and turns it into stored safetensors: safetensors is kept as sent;
 * PyTorch (zip, legacy, joblib) and ONNX files are converted tensor by tensor through the
 * restricted readers into a staged writer (one write). Every failure is a typed CoreError and
 * leaves only staged bytes, which the caller discards, so nothing is stored.
 */
export async function ingestUpload(upload: StagedBlob, filename: string, store: BlobStore, options: IngestOptions): Promise<IngestedCheckpoint> {
  return withStaged(store, upload, async (source) => {
    const format = await detectCheckpointFormat(source, filename);
    if (format === 'safetensors') {
      const header = await readSafetensorsHeader(source, { maxHeaderBytes: options.maxHeaderBytes });
      return { staged: upload, originalFormat: 'safetensors', manifest: manifestOf(header), metadata: header.metadata ?? {} };
    }
    const set = await openCheckpoint(source, { filename, maxHeaderBytes: options.maxHeaderBytes, maxConvertedBytes: options.maxConvertedBytes });
    const missing = set.metadata.initializersWithoutData;
    if (format === 'onnx' && Array.isArray(missing) && missing.length > 0) {
      throw new CoreError('ONNX_EXTERNAL_DATA_MISSING', `the ONNX file has ${missing.length} initializer(s) without data (e.g. ${String(missing[0])}); upload a model with its initializers embedded`, {
        initializers: missing.slice(0, 20),
      });
    }
    const staged = await writeStaged(store.createStagedWriter(), (w) => writeTensorSetAsSafetensors(set, w.stream));
    try {
      // The converted file's own header (a few KB): the offsets as stored.
      const header = await withStaged(store, staged, (converted) => readSafetensorsHeader(converted, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }));
      const { initializersWithoutData: _omit, ...metadata } = set.metadata;
      return { staged, originalFormat: format, manifest: manifestOf(header), metadata };
    } catch (e) {
      await store.discard(staged);
      throw e;
    }
  });
}
