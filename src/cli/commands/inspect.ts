import { CoreError } from '../../core/errors';
import { listInitializers, readOnnxModel, readOnnxTensors } from '../../core/formats/onnx';
import { MAX_PROTOBUF_BYTES } from '../../core/formats/onnx/onnx-codec';
import { detectCheckpointFormat, openCheckpoint } from '../../core/formats/open-checkpoint';
import type { CheckpointFormat } from '../../core/formats/tensor-set';
import { withFileSource, type RandomAccessSource } from '../../core/io/random-access';
import { numElements, type Dtype } from '../../core/tensor/dtypes';

export interface InspectedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
}

export interface InspectReport {
  file: string;
  format: CheckpointFormat;
  sizeBytes: number;
  tensorCount: number;
  /** Elements over all tensors (parameters and buffers alike, as a checkpoint does not say which). */
  parameterCount: number;
  metadata: Record<string, unknown>;
  tensors: InspectedTensor[];
}

/**
 * Lists a checkpoint's tensors without reading their bytes. ONNX models list every initializer,
 * including those whose external data is absent (graph-only exports).
 */
export async function inspectCheckpoint(file: string): Promise<InspectReport> {
  return withFileSource(file, async (source) => {
    const format = await detectCheckpointFormat(source, file);
    const { tensors, metadata } = format === 'onnx' ? await describeOnnx(source) : await describeCheckpoint(source, file);
    return {
      file,
      format,
      sizeBytes: source.size,
      tensorCount: tensors.length,
      parameterCount: tensors.reduce((n, t) => n + numElements(t.shape), 0),
      metadata,
      tensors,
    };
  });
}

interface Description {
  tensors: InspectedTensor[];
  metadata: Record<string, unknown>;
}

async function describeCheckpoint(source: RandomAccessSource, file: string): Promise<Description> {
  const set = await openCheckpoint(source, { filename: file });
  return {
    tensors: set.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })),
    metadata: set.metadata,
  };
}

async function describeOnnx(source: RandomAccessSource): Promise<Description> {
  if (source.size > MAX_PROTOBUF_BYTES) {
    throw new CoreError('ONNX_INVALID', `${source.size} bytes exceed the 2 GiB protobuf limit`);
  }
  const model = readOnnxModel(await source.read(0, source.size));
  const initializers = listInitializers(model);
  // Only the model-level metadata: its tensors stay lazy and unread.
  const { metadata } = await readOnnxTensors(model);
  const { initializersWithoutData: _withoutData, ...modelMetadata } = metadata;
  return {
    tensors: initializers.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.dims })),
    metadata: {
      ...modelMetadata,
      initializersWithExternalData: initializers.filter((i) => i.external).length,
      initializersWithoutData: initializers.filter((i) => !i.external && !i.hasData).length,
    },
  };
}
