import * as tf from '@tensorflow/tfjs-core';

/** Backends whose tensors already live in host memory: reading one costs no round trip. */
const HOST_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/** Whether the active backend keeps tensors in host memory (cpu, wasm, tensorflow), unlike webgpu. */
export function isHostMemoryBackend(): boolean {
  return HOST_BACKENDS.has(tf.getBackend());
}
/** Packed reads stay under WebGPU's 2 GiB storage-binding limit with a wide margin. */
const MAX_PACK_ELEMENTS = 64 * 1024 * 1024;

export interface ReadTensorsOptions {
  /** Pack into one read per chunk (default: on backends whose memory is not the host's, e.g. webgpu). */
  pack?: boolean;
}

/**
 * Reads float32 tensors back to the host, in order. On a GPU backend every read is a round trip
 * (a queue submit and a buffer map, about 1–3 ms), which for a GHN's ~150 predicted tensors costs
 * more than the prediction: there they are flattened, concatenated on the device and read in a few
 * chunks. The arrays returned may be views into a shared buffer.
 */
export async function readFloat32Tensors(tensors: readonly tf.Tensor[], options: ReadTensorsOptions = {}): Promise<Float32Array[]> {
  const pack = options.pack ?? !isHostMemoryBackend();
  if (!pack || tensors.length <= 1) return Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  const out: Float32Array[] = [];
  for (let start = 0; start < tensors.length; ) {
    let end = start + 1;
    let elements = tensors[start].size;
    while (end < tensors.length && elements + tensors[end].size <= MAX_PACK_ELEMENTS) elements += tensors[end++].size;
    const chunk = tensors.slice(start, end);
    const packed = chunk.length === 1 ? null : tf.tidy(() => tf.concat(chunk.map((t) => tf.reshape(t, [-1]))));
    try {
      const all = (await (packed ?? chunk[0]).data()) as Float32Array;
      let offset = 0;
      for (const t of chunk) {
        out.push(all.subarray(offset, offset + t.size));
        offset += t.size;
      }
    } finally {
      packed?.dispose();
    }
    start = end;
  }
  return out;
}
