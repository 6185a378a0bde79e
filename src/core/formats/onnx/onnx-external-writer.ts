import { mkdir, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreError } from '../../errors';
import { readAll, type LazyTensor } from '../tensor-set';
import { encodeOnnxModel, MAX_PROTOBUF_BYTES, type OnnxModel, type OnnxTensorProto } from './onnx-codec';
import { describeInitializer, isSafeRelativeLocation, type OnnxInitializerInfo } from './onnx-initializers';
import {
  checkInitializerData,
  keepOrFail,
  mapInitializers,
  toLookup,
  withExternalData,
  withRawData,
  type OnnxInitializerData,
  type WriteOnnxOptions,
} from './onnx-writer';

/** In-memory bytes, or a lazy tensor (e.g. from a checkpoint reader) streamed into the data file. */
export type OnnxInitializerSource = OnnxInitializerData | LazyTensor;

export type OnnxAsyncInitializerLookup =
  | ReadonlyMap<string, OnnxInitializerSource>
  | ((name: string) => OnnxInitializerSource | undefined | Promise<OnnxInitializerSource | undefined>);

export interface WriteExternalOptions extends WriteOnnxOptions {
  /** Tensors below this many bytes stay embedded as raw_data (default 1024, like onnx's converter). */
  sizeThreshold?: number;
  /** Byte alignment of each tensor in the data file, so it can be viewed as a typed array (default 64). */
  alignment?: number;
}

export interface WrittenOnnxFiles {
  modelPath: string;
  dataPath: string;
  /** Initializers written to the data file. */
  externalTensors: number;
  /** Size of the data file. */
  dataBytes: number;
}

/**
 * Writes `dir/modelFileName` plus `dir/dataFileName`: like writeOnnxModel, but initializers of at
 * least options.sizeThreshold bytes go to the data file (external_data location/offset/length), so
 * the model may exceed protobuf's 2 GiB limit. Lazy tensors are streamed, never held whole. Kept
 * initializers (options.keepMissing) are written unchanged, including any external references.
 * On failure the data file is removed and no model file is written.
 */
export async function writeOnnxModelWithExternalData(
  model: OnnxModel,
  initializers: OnnxAsyncInitializerLookup,
  dir: string,
  modelFileName: string,
  dataFileName: string,
  options: WriteExternalOptions = {},
): Promise<WrittenOnnxFiles> {
  if (!isSafeRelativeLocation(modelFileName) || /[\\/]/.test(modelFileName)) {
    throw new CoreError('INVALID_ARGUMENT', `model file name '${modelFileName}' must be a plain file name`);
  }
  if (!isSafeRelativeLocation(dataFileName)) {
    throw new CoreError('INVALID_ARGUMENT', `data file name '${dataFileName}' must be a relative path inside the model's folder`);
  }
  if (dataFileName === modelFileName) throw new CoreError('INVALID_ARGUMENT', 'the data file and the model file must differ');
  const sizeThreshold = options.sizeThreshold ?? 1024;
  const alignment = options.alignment ?? 64;
  if (!Number.isSafeInteger(alignment) || alignment < 1) throw new CoreError('INVALID_ARGUMENT', 'alignment must be a positive integer');
  const lookup = toLookup(initializers);
  const modelPath = join(dir, modelFileName);
  const dataPath = join(dir, dataFileName);
  await mkdir(join(dataPath, '..'), { recursive: true });

  // Sources are looked up first (lookups may be async), so that the model copy is built synchronously.
  const sources = new Map<string, OnnxInitializerSource>();
  for (const tensor of model.graph?.initializer ?? []) {
    const source = await lookup(tensor.name ?? '');
    if (source !== undefined) sources.set(tensor.name ?? '', source);
  }

  const handle = await open(dataPath, 'w');
  let end = 0;
  let externalTensors = 0;
  let embeddedBytes = 0;
  try {
    const planned: { tensor: OnnxTensorProto; info: OnnxInitializerInfo; source: OnnxInitializerSource }[] = [];
    const copy = mapInitializers(model, (tensor) => {
      const source = sources.get(tensor.name ?? '');
      if (source === undefined) return keepOrFail(tensor, options);
      const info = describeInitializer(tensor);
      const byteLength = 'data' in source ? source.data.byteLength : info.byteLength;
      checkInitializerData(info, source.dtype, source.shape, byteLength);
      planned.push({ tensor, info, source });
      return tensor; // replaced below, once its bytes are placed
    });
    const replacements = new Map<string, OnnxTensorProto>();
    for (const { tensor, info, source } of planned) {
      if (info.byteLength < sizeThreshold) {
        const bytes = 'data' in source ? source.data : await readAll(source);
        checkInitializerData(info, source.dtype, source.shape, bytes.byteLength);
        embeddedBytes += bytes.byteLength;
        replacements.set(info.name, withRawData(tensor, bytes));
        continue;
      }
      const offset = Math.ceil(end / alignment) * alignment;
      await writeTensor(handle, offset, info, source);
      end = offset + info.byteLength;
      externalTensors += 1;
      replacements.set(info.name, withExternalData(tensor, dataFileName.replace(/\\/g, '/'), offset, info.byteLength));
    }
    if (embeddedBytes > MAX_PROTOBUF_BYTES) {
      throw new CoreError('INVALID_ARGUMENT', 'embedded initializers exceed the 2 GiB protobuf limit; lower sizeThreshold');
    }
    copy.graph!.initializer = copy.graph!.initializer!.map((t) => replacements.get(t.name ?? '') ?? t);
    const bytes = encodeOnnxModel(copy);
    if (bytes.byteLength > MAX_PROTOBUF_BYTES) {
      throw new CoreError('INVALID_ARGUMENT', 'the model graph exceeds the 2 GiB protobuf limit');
    }
    await handle.close();
    await writeFile(modelPath, bytes);
    return { modelPath, dataPath, externalTensors, dataBytes: end };
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(dataPath, { force: true });
    throw e;
  }
}

async function writeTensor(handle: FileHandle, offset: number, info: OnnxInitializerInfo, source: OnnxInitializerSource): Promise<void> {
  if ('data' in source) {
    await writeFully(handle, source.data, offset);
    return;
  }
  let written = 0;
  for await (const chunk of source.chunks()) {
    if (written + chunk.byteLength > info.byteLength) {
      written += chunk.byteLength; // too many bytes: reported below
      break;
    }
    await writeFully(handle, chunk, offset + written);
    written += chunk.byteLength;
  }
  if (written !== info.byteLength) {
    throw new CoreError('INVALID_ARGUMENT', `initializer '${info.name}': the lazy tensor gave a wrong number of bytes, ${info.byteLength} expected`, {
      tensor: info.name,
    });
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}
