import { dirname } from 'node:path';
import { CoreError } from '../../core/errors';
import { openCheckpoint, writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import type { CheckpointFormat } from '../../core/formats/tensor-set';
import { withFileSource } from '../../core/io/random-access';

export interface ConvertSummary {
  out: string;
  format: CheckpointFormat;
  tensors: number;
  bytes: number;
  sha256: string;
}

/**
 * Converts any supported checkpoint to safetensors, tensor by tensor (never the whole model in
 * memory). The output is written under a temporary name and renamed, so a failure leaves none.
 */
export async function convertCheckpoint(input: string, output: string): Promise<ConvertSummary> {
  if (input === output) throw new CoreError('INVALID_ARGUMENT', 'the output must differ from the input');
  return withFileSource(input, async (source) => {
    // ONNX external data locations are relative to the model's folder.
    const set = await openCheckpoint(source, { filename: input, externalDataDir: dirname(input) });
    const withoutData = set.metadata.initializersWithoutData;
    if (Array.isArray(withoutData) && withoutData.length > 0) {
      throw new CoreError(
        'ONNX_EXTERNAL_DATA_MISSING',
        `${withoutData.length} initializer(s) carry no data (e.g. '${String(withoutData[0])}'): the model holds no weights to convert`,
        { initializers: withoutData.slice(0, 20) },
      );
    }
    const { initializersWithoutData: _none, ...metadata } = set.metadata;
    const written = await writeTensorSetAsSafetensors({ ...set, metadata }, output);
    return { out: output, format: set.format, tensors: set.tensors.length, bytes: written.bytesWritten, sha256: written.sha256 };
  });
}
