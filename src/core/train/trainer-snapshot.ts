import { CoreError } from '../errors';
import { parseSafetensorsHeader, serializeSafetensors, type InMemoryTensor } from '../formats/safetensors';
import type { OptimizerState } from './optimizer-types';
import type { StateTensor } from './trainable-graph';

/**
 * Everything a training needs to continue exactly where it stopped, as plain data: the number of
 * steps done, the model's state_dict, the optimizer's state and the hash of the configuration it
 * ran under. The data order and augmentation derive from (seed, epoch, step), so no RNG state is kept.
 */
export interface TrainerSnapshot {
  step: number;
  tensors: Map<string, StateTensor>;
  counters: Map<string, number>;
  optimizer: OptimizerState;
  configHash: string;
}

export const SNAPSHOT_FORMAT = 'weightsmith-trainer-snapshot/1';
const MODEL = 'model/';
const OPTIM = 'optim/';

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * One safetensors file: model tensors as F32 under `model/<name>`, optimizer arrays under
 * `optim/<key>` (F32 or F64, as held), and in `__metadata__`: format, step, optimizer_step,
 * counters (JSON object), config_hash.
 */
export function encodeSnapshot(snapshot: TrainerSnapshot): Uint8Array {
  const tensors: InMemoryTensor[] = [];
  for (const [name, t] of snapshot.tensors) tensors.push({ name: `${MODEL}${name}`, dtype: 'F32', shape: t.shape, data: bytesOf(t.data) });
  for (const [key, a] of Object.entries(snapshot.optimizer.arrays)) {
    tensors.push({ name: `${OPTIM}${key}`, dtype: a instanceof Float64Array ? 'F64' : 'F32', shape: [a.length], data: bytesOf(a) });
  }
  return serializeSafetensors(tensors, {
    format: SNAPSHOT_FORMAT,
    step: String(snapshot.step),
    optimizer_step: String(snapshot.optimizer.step),
    counters: JSON.stringify(Object.fromEntries(snapshot.counters)),
    config_hash: snapshot.configHash,
  });
}

function snapshotError(message: string): CoreError {
  return new CoreError('TRAINING_SNAPSHOT_INVALID', `not a trainer snapshot: ${message}`);
}

function count(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw snapshotError(`${what} must be a non-negative integer`);
  return n;
}

/** Reads back what encodeSnapshot wrote (TRAINING_SNAPSHOT_INVALID, or a SAFETENSORS_* code, otherwise). */
export function decodeSnapshot(bytes: Uint8Array): TrainerSnapshot {
  if (bytes.byteLength < 8) throw snapshotError('too short');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) throw snapshotError('the header runs past the end');
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.byteLength);
  const metadata = header.metadata ?? {};
  if (metadata.format !== SNAPSHOT_FORMAT) throw snapshotError(`format is ${JSON.stringify(metadata.format)}, expected ${SNAPSHOT_FORMAT}`);
  let counters: Record<string, unknown>;
  try {
    counters = JSON.parse(metadata.counters ?? '') as Record<string, unknown>;
  } catch {
    throw snapshotError('counters is not JSON');
  }
  const snapshot: TrainerSnapshot = {
    step: count(metadata.step, 'step'),
    tensors: new Map(),
    counters: new Map(Object.entries(counters).map(([k, v]) => [k, count(String(v), `counter ${k}`)])),
    optimizer: { step: count(metadata.optimizer_step, 'optimizer_step'), arrays: {} },
    configHash: metadata.config_hash ?? '',
  };
  for (const info of header.tensors) {
    // A copy, so that every array is aligned and owns its memory.
    const data = bytes.slice(info.byteOffset, info.byteOffset + info.byteLength).buffer;
    if (info.name.startsWith(MODEL) && info.dtype === 'F32') {
      snapshot.tensors.set(info.name.slice(MODEL.length), { shape: info.shape, data: new Float32Array(data) });
    } else if (info.name.startsWith(OPTIM) && (info.dtype === 'F32' || info.dtype === 'F64')) {
      snapshot.optimizer.arrays[info.name.slice(OPTIM.length)] = info.dtype === 'F32' ? new Float32Array(data) : new Float64Array(data);
    } else {
      throw snapshotError(`unexpected tensor ${JSON.stringify(info.name)} (${info.dtype})`);
    }
  }
  return snapshot;
}
