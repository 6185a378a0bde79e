import { resolve } from 'node:path';
import { CoreError } from '../../errors';
import { fileSource, type RandomAccessSource } from '../../io/random-access';
import type { LazyTensor, TensorSet } from '../tensor-set';
import { int64ToNumber, MAX_PROTOBUF_BYTES, readOnnxModel, validateOnnxModel, type OnnxModel } from './onnx-codec';
import { describeInitializer, embeddedTensorBytes, type OnnxInitializerInfo } from './onnx-initializers';

/** External tensors are streamed in pieces of this size, so multi-GB data files are never held whole. */
const EXTERNAL_CHUNK_BYTES = 16 * 1024 * 1024;

export interface ReadOnnxTensorsOptions {
  /** Folder that external data locations are relative to (normally the model file's folder). */
  externalDataDir?: string;
  /**
   * Supplies an external initializer's bytes (e.g. from a safetensors file that the model refers to
   * by tensor name). Called only when the tensor is read; `undefined` falls back to the data file.
   */
  resolveExternal?: (name: string, info: OnnxInitializerInfo) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

/**
 * Reads an ONNX model's initializers as a TensorSet (format 'onnx'). Initializers whose data is
 * embedded or external are listed; external bytes are fetched only when a tensor is read, so a
 * missing data file fails then, with ONNX_EXTERNAL_DATA_MISSING. Initializers that carry no data
 * at all are left out and named in metadata.initializersWithoutData.
 */
export async function readOnnxTensors(
  input: Uint8Array | RandomAccessSource | OnnxModel,
  options: ReadOnnxTensorsOptions = {},
): Promise<TensorSet> {
  const model = await toModel(input);
  const tensors: LazyTensor[] = [];
  const withoutData: string[] = [];
  for (const tensor of model.graph?.initializer ?? []) {
    const info = describeInitializer(tensor);
    if (info.external) {
      tensors.push(lazyTensor(info, () => readExternal(info, options)));
    } else if (info.hasData) {
      // Typed fields are converted only when read, so listing a model allocates nothing per tensor.
      tensors.push(lazyTensor(info, async function* () {
        yield embeddedTensorBytes(tensor, info);
      }));
    } else {
      withoutData.push(info.name);
    }
  }
  return { format: 'onnx', tensors, metadata: { ...modelMetadata(model), initializersWithoutData: withoutData } };
}

/** Bytes and sources are decoded; a model decoded before (e.g. by readOnnxModel) is only checked. */
async function toModel(input: Uint8Array | RandomAccessSource | OnnxModel): Promise<OnnxModel> {
  if (input instanceof Uint8Array) return readOnnxModel(input);
  if (isRandomAccessSource(input)) {
    if (input.size > MAX_PROTOBUF_BYTES) {
      throw new CoreError('ONNX_INVALID', `${input.size} bytes exceed the 2 GiB protobuf limit`);
    }
    return readOnnxModel(await input.read(0, input.size));
  }
  validateOnnxModel(input);
  return input;
}

function isRandomAccessSource(input: RandomAccessSource | OnnxModel): input is RandomAccessSource {
  return typeof (input as RandomAccessSource).read === 'function' && typeof (input as RandomAccessSource).size === 'number';
}

function lazyTensor(info: OnnxInitializerInfo, chunks: () => AsyncIterable<Uint8Array>): LazyTensor {
  return { name: info.name, dtype: info.dtype, shape: info.dims, chunks };
}

function modelMetadata(model: OnnxModel): Record<string, unknown> {
  return {
    irVersion: int64ToNumber(model.irVersion, 'ir_version'),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    graphName: model.graph?.name ?? '',
    opsetImports: (model.opsetImport ?? []).map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version, 'opset_import version'),
    })),
  };
}

async function* readExternal(info: OnnxInitializerInfo, options: ReadOnnxTensorsOptions): AsyncIterable<Uint8Array> {
  const external = info.external!;
  if (options.resolveExternal) {
    const bytes = await options.resolveExternal(info.name, info);
    if (bytes !== undefined) {
      if (bytes.byteLength !== info.byteLength) {
        throw new CoreError('INVALID_ARGUMENT', `resolveExternal gave ${bytes.byteLength} bytes for '${info.name}', expected ${info.byteLength}`, {
          tensor: info.name,
        });
      }
      yield bytes;
      return;
    }
  }
  const missing = (why: string): CoreError =>
    new CoreError('ONNX_EXTERNAL_DATA_MISSING', `external data of initializer '${info.name}' is unavailable: ${why}`, {
      tensor: info.name,
      location: external.location,
    });
  if (/\.safetensors$/i.test(external.location)) {
    // Such models (e.g. the runtime fixtures) name a safetensors file whose tensors match by name;
    // its bytes are not raw tensor data at an offset.
    throw missing(`'${external.location}' is a safetensors file referenced by tensor name; pass resolveExternal`);
  }
  if (options.externalDataDir === undefined) throw missing('no externalDataDir was given');
  let source: RandomAccessSource;
  try {
    source = await fileSource(resolve(options.externalDataDir, external.location));
  } catch (e) {
    throw missing(e instanceof Error ? e.message : String(e));
  }
  try {
    const start = external.offset ?? 0;
    if (start + info.byteLength > source.size) {
      throw new CoreError(
        'ONNX_INVALID',
        `external data file '${external.location}' (${source.size} bytes) is too short for '${info.name}' (${info.byteLength} bytes at ${start})`,
        { tensor: info.name, location: external.location },
      );
    }
    for (let done = 0; done < info.byteLength; done += EXTERNAL_CHUNK_BYTES) {
      let chunk: Uint8Array;
      try {
        chunk = await source.read(start + done, Math.min(EXTERNAL_CHUNK_BYTES, info.byteLength - done));
      } catch (e) {
        throw missing(e instanceof Error ? e.message : String(e)); // e.g. EISDIR, file shrank meanwhile
      }
      yield chunk;
    }
  } finally {
    await source.close();
  }
}
