import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors } from '../../formats/safetensors';
import { bufferSource } from '../../io/random-access';
import { numElements } from '../../tensor/dtypes';
import { hostTensorFromBytes, type HostTensor, type TensorBytes } from '../host-tensor';
import { tensorSetWeights } from '../weights';

/** All tensors of a safetensors file, in memory (test fixtures are small). */
export async function readSafetensorsFile(path: string): Promise<Map<string, TensorBytes>> {
  return tensorSetWeights(await readSafetensors(bufferSource(await readFile(path))));
}

export function hostTensorOf(tensors: ReadonlyMap<string, TensorBytes>, name: string): HostTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`no tensor '${name}' (have ${[...tensors.keys()].slice(0, 8).join(', ')}, ...)`);
  return hostTensorFromBytes(t.dtype, t.shape, t.data);
}

/** Sample `index` of a float32 batch, as a batch of one. */
export function batchItem(t: HostTensor, index: number): HostTensor {
  const size = numElements(t.shape.slice(1));
  return { dtype: t.dtype, shape: [1, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(index * size, (index + 1) * size) };
}

/** Activates a TF.js backend (loading its package first). */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner in test logs
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to initialise`);
  await tf.ready();
}

/** A seeded uniform [-1, 1) float32 tensor. */
export function seededInput(shape: number[], seed: number): HostTensor {
  let s = seed >>> 0 || 1;
  const data = new Float32Array(numElements(shape));
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return { dtype: 'F32', shape, data };
}
