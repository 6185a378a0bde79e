import { dirname } from 'node:path';
import { CoreError } from '../../core/errors';
import { readOnnxTensors, type ReadOnnxTensorsOptions } from '../../core/formats/onnx';
import { detectCheckpointFormat, openCheckpoint, writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import type { CheckpointFormat, TensorSet } from '../../core/formats/tensor-set';
import { withFileSource, type RandomAccessSource } from '../../core/io/random-access';
import { safetensorsExternalResolver } from './onnx-external-safetensors';

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
 * ONNX external data is read relative to the model's folder; a location that is a safetensors
 * file is bound by tensor name.
 */
export async function convertCheckpoint(input: string, output: string): Promise<ConvertSummary> {
  if (input === output) throw new CoreError('INVALID_ARGUMENT', 'the output must differ from the input');
  return withFileSource(input, async (source) => {
    if ((await detectCheckpointFormat(source, input)) !== 'onnx') {
      return write(await openCheckpoint(source, { filename: input }), output);
    }
    const resolver = safetensorsExternalResolver(dirname(input));
    try {
      return await write(await openOnnx(source, input, resolver.resolve), output);
    } finally {
      await resolver.close();
    }
  });
}

async function openOnnx(source: RandomAccessSource, input: string, resolveExternal: ReadOnnxTensorsOptions['resolveExternal']): Promise<TensorSet> {
  const set = await readOnnxTensors(source, { externalDataDir: dirname(input), resolveExternal });
  const { initializersWithoutData: withoutData, ...metadata } = set.metadata;
  if (Array.isArray(withoutData) && withoutData.length > 0) {
    throw new CoreError(
      'ONNX_EXTERNAL_DATA_MISSING',
      `${withoutData.length} initializer(s) carry no data (e.g. '${String(withoutData[0])}'): the model holds no weights to convert`,
      { initializers: withoutData.slice(0, 20) },
    );
  }
  return { ...set, metadata };
}

async function write(set: TensorSet, output: string): Promise<ConvertSummary> {
  const written = await writeTensorSetAsSafetensors(set, output);
  return { out: output, format: set.format, tensors: set.tensors.length, bytes: written.bytesWritten, sha256: written.sha256 };
}
