import { resolve } from 'node:path';
import { CoreError } from '../../core/errors';
import type { OnnxInitializerInfo } from '../../core/formats/onnx';
import { readSafetensors } from '../../core/formats/safetensors';
import { readAll, type LazyTensor } from '../../core/formats/tensor-set';
import { fileSource, type RandomAccessSource } from '../../core/io/random-access';

export interface SafetensorsExternalResolver {
  /** For readOnnxTensors' resolveExternal: undefined for locations that are not safetensors files. */
  resolve(name: string, info: OnnxInitializerInfo): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/**
 * Binds ONNX initializers whose external location is a safetensors file (as the runtime fixtures
 * do) to that file's tensor of the same name: by name, never by the file offsets the ONNX records. Each
 * file is opened once, on first use; one tensor's bytes are held at a time.
 */
export function safetensorsExternalResolver(modelDir: string): SafetensorsExternalResolver {
  const opened = new Map<string, Promise<{ source: RandomAccessSource; byName: Map<string, LazyTensor> }>>();
  const open = (location: string) => {
    let file = opened.get(location);
    if (!file) {
      file = (async () => {
        const source = await fileSource(resolve(modelDir, location));
        try {
          const set = await readSafetensors(source);
          return { source, byName: new Map(set.tensors.map((t) => [t.name, t])) };
        } catch (e) {
          await source.close();
          throw e;
        }
      })();
      opened.set(location, file);
    }
    return file;
  };
  return {
    async resolve(name, info) {
      const location = info.external?.location;
      if (!location || !/\.safetensors$/i.test(location)) return undefined;
      const missing = (why: string) =>
        new CoreError('ONNX_EXTERNAL_DATA_MISSING', `external data of initializer '${name}' is unavailable: ${why}`, { tensor: name, location });
      let byName: Map<string, LazyTensor>;
      try {
        ({ byName } = await open(location));
      } catch (e) {
        throw missing(e instanceof Error ? e.message : String(e));
      }
      const tensor = byName.get(name);
      if (!tensor) throw missing(`'${location}' has no tensor named '${name}'`);
      if (tensor.dtype !== info.dtype || tensor.shape.join(',') !== info.dims.join(',')) {
        throw missing(`'${location}' holds ${tensor.dtype} [${tensor.shape.join(', ')}], the model declares ${info.dtype} [${info.dims.join(', ')}]`);
      }
      return readAll(tensor);
    },
    async close() {
      const files = await Promise.allSettled(opened.values());
      await Promise.all(files.map((f) => (f.status === 'fulfilled' ? f.value.source.close() : undefined)));
    },
  };
}
