import { CoreError } from '../errors';
import type { RandomAccessSource } from '../io/random-access';
import { readOnnxTensors } from './onnx';
import { readSafetensors } from './safetensors';
import { writeSafetensors, type SafetensorsWriteResult } from './safetensors';
import { checkConvertedSize, type CheckpointFormat, type TensorSet } from './tensor-set';
import { readTorchCheckpoint, sniffTorchFormat } from './torch';

export interface OpenCheckpointOptions {
  /** Original file name: its extension decides when the bytes do not. */
  filename?: string;
  maxHeaderBytes?: number;
  /** Folder of an ONNX model, for initializers stored as external data. */
  externalDataDir?: string;
  /** Refuses (CHECKPOINT_TOO_LARGE) a checkpoint whose tensors take more bytes, before reading any. */
  maxConvertedBytes?: number;
}

const EXTENSION_FORMATS: Record<string, CheckpointFormat> = {
  safetensors: 'safetensors',
  pt: 'torch-zip',
  pth: 'torch-zip',
  bin: 'torch-zip',
  ckpt: 'torch-zip',
  onnx: 'onnx',
};

function extensionOf(filename: string | undefined): string {
  const m = /\.([A-Za-z0-9]+)$/.exec(filename ?? '');
  return m ? m[1].toLowerCase() : '';
}

/**
 * Decides the format from the leading bytes (torch zip/pickle magic, a safetensors JSON header,
 * an ONNX ModelProto's ir_version field), then from the file extension. Unknown files are read as
 * safetensors, the native format, so that its validator explains what is wrong.
 */
export async function detectCheckpointFormat(source: RandomAccessSource, filename?: string): Promise<CheckpointFormat> {
  const head = await source.read(0, Math.min(32, source.size));
  const torch = sniffTorchFormat(head);
  if (torch) return torch;
  if (head.length >= 9) {
    const declared = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (head[8] === 0x7b /* { */ && declared + 8n <= BigInt(source.size)) return 'safetensors';
  }
  const ext = extensionOf(filename);
  // ModelProto field 1 (ir_version) is a varint: tag byte 0x08.
  if (head[0] === 0x08 && (ext === 'onnx' || !(ext in EXTENSION_FORMATS))) return 'onnx';
  const byExtension = EXTENSION_FORMATS[ext];
  if (byExtension === 'torch-zip') {
    throw new CoreError('TORCH_FORMAT_INVALID', `${filename} is neither a zip-format nor a pickle-format torch.save file`);
  }
  return byExtension ?? 'safetensors';
}

/** Opens any supported checkpoint as a lazy TensorSet. The source must stay open while it is read. */
export async function openCheckpoint(source: RandomAccessSource, options: OpenCheckpointOptions = {}): Promise<TensorSet> {
  const set = await openTensorSet(source, options);
  checkConvertedSize(set, options.maxConvertedBytes);
  return set;
}

async function openTensorSet(source: RandomAccessSource, options: OpenCheckpointOptions): Promise<TensorSet> {
  const format = await detectCheckpointFormat(source, options.filename);
  switch (format) {
    case 'safetensors':
      return readSafetensors(source, { maxHeaderBytes: options.maxHeaderBytes });
    case 'torch-zip':
    case 'torch-legacy':
    case 'joblib':
      return readTorchCheckpoint(source, { format, maxConvertedBytes: options.maxConvertedBytes });
    case 'onnx':
      return readOnnxTensors(source, { externalDataDir: options.externalDataDir });
  }
}

/** safetensors metadata is a string map: non-string values are stored as JSON. */
export function metadataForSafetensors(metadata: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Streams a TensorSet into a safetensors file (tensor by tensor; written to a temporary name and
 * renamed, so a failure leaves no output). Records the source format in the metadata.
 */
export function writeTensorSetAsSafetensors(set: TensorSet, out: string | NodeJS.WritableStream): Promise<SafetensorsWriteResult> {
  const metadata = metadataForSafetensors({ ...set.metadata, ...(set.format === 'safetensors' ? {} : { source_format: set.format }) });
  return writeSafetensors(out, set.tensors, metadata);
}
