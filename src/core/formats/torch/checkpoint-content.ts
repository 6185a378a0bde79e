import { CoreError } from '../../errors';
import type { CheckpointFormat, LazyTensor, TensorSet } from '../tensor-set';
import { PyCallable, StorageType, TorchDtype, TypeTag } from './allowlist';
import { toLazyTensor } from './lazy-tensor';
import { PySet, SourceBytes, StorageRef, TensorRef, describe, isDict } from './pickle-values';

/** Entries of a checkpoint dict that hold the model's state_dict; other entries become metadata. */
const STATE_DICT_KEYS = ['state_dict', 'model', 'model_state_dict'];
const MAX_DEPTH = 64;
/**
 * Bounds the walk over values whose sub-objects are shared through the pickle memo (a few bytes of
 * pickle can reference one list 2^40 times): a pickle of n bytes holds at most n objects.
 */
const BASE_VISITS = 10_000;

function invalid(message: string): CoreError {
  return new CoreError('TORCH_FORMAT_INVALID', message);
}

class Walk {
  private visits = 0;
  constructor(private readonly maxVisits: number) {}

  private readonly active = new Set<object>();
  private readonly hasTensor = new WeakMap<object, boolean>();

  enter(value: unknown, depth: number): void {
    if (++this.visits > this.maxVisits) throw invalid('checkpoint object graph is too large');
    if (depth > MAX_DEPTH) throw invalid(`checkpoint nesting deeper than ${MAX_DEPTH}`);
    if (typeof value === 'object' && value !== null) {
      if (this.active.has(value)) throw invalid('checkpoint contains a self-referencing container');
      this.active.add(value);
    }
  }

  leave(value: unknown): void {
    if (typeof value === 'object' && value !== null) this.active.delete(value);
  }

  containsTensor(value: unknown, depth = 0): boolean {
    if (value instanceof TensorRef) return true;
    if (!isDict(value) && !Array.isArray(value)) return false;
    const known = this.hasTensor.get(value);
    if (known !== undefined) return known;
    this.enter(value, depth);
    const children = isDict(value) ? value.values() : value;
    let found = false;
    for (const child of children) {
      if (this.containsTensor(child, depth + 1)) {
        found = true;
        break;
      }
    }
    this.leave(value);
    this.hasTensor.set(value, found);
    return found;
  }

  /** JSON-compatible rendering of a non-tensor value; tensors inside become descriptors. */
  toJson(value: unknown, depth = 0): unknown {
    if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
    if (value instanceof SourceBytes) return { $bytesLength: value.length };
    if (value instanceof TensorRef) return { $tensor: { dtype: value.storage.dtype, shape: [...value.shape] } };
    if (value instanceof StorageRef) return { $storage: { dtype: value.dtype, numel: value.numel } };
    if (value instanceof StorageType || value instanceof TorchDtype || value instanceof TypeTag || value instanceof PyCallable) {
      return value.qualifiedName;
    }
    this.enter(value, depth);
    let out: unknown;
    if (Array.isArray(value) || value instanceof PySet) {
      out = (Array.isArray(value) ? value : value.items).map((item) => this.toJson(item, depth + 1));
    } else if (isDict(value)) {
      const object: Record<string, unknown> = {};
      for (const [key, item] of value) defineEntry(object, this.keyName(key), this.toJson(item, depth + 1));
      out = object;
    } else {
      throw invalid(`cannot represent a ${describe(value)} as metadata`);
    }
    this.leave(value);
    return out;
  }

  keyName(key: unknown): string {
    return typeof key === 'string' ? key : JSON.stringify(this.toJson(key));
  }

  /** Tensors under dotted names; non-tensor leaves (and tensor-free containers) into metadata. Depth 0 is a dict or list. */
  flatten(value: unknown, prefix: string, out: Collected, depth = 0): void {
    if (value instanceof TensorRef) {
      out.addTensor(prefix, value);
      return;
    }
    if (depth > 0 && !this.containsTensor(value)) {
      defineEntry(out.metadata, prefix, this.toJson(value, depth));
      return;
    }
    this.enter(value, depth);
    const entries: Iterable<[unknown, unknown]> = isDict(value) ? value : (value as unknown[]).entries();
    for (const [key, child] of entries) {
      const name = this.keyName(key);
      this.flatten(child, prefix ? `${prefix}.${name}` : name, out, depth + 1);
    }
    this.leave(value);
  }
}

class Collected {
  readonly tensors: LazyTensor[] = [];
  readonly metadata: Record<string, unknown> = {};
  private readonly names = new Set<string>();

  addTensor(name: string, ref: TensorRef): void {
    const tensorName = name || 'tensor';
    if (this.names.has(tensorName)) throw invalid(`duplicate tensor name ${tensorName}`);
    this.names.add(tensorName);
    this.tensors.push(toLazyTensor(tensorName, ref));
  }
}

/** Assigns an own property even for names such as "__proto__". */
function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Interprets an unpickled checkpoint: a state_dict, or a dict holding one under `state_dict` /
 * `model` (its other entries become metadata); nested dicts are flattened to dotted names.
 */
export function buildTensorSet(format: CheckpointFormat, root: unknown, sourceSize: number): TensorSet {
  const walk = new Walk(BASE_VISITS + 2 * sourceSize);
  const out = new Collected();
  if (isDict(root)) {
    const key = STATE_DICT_KEYS.find((k) => isDict(root.get(k)) && walk.containsTensor(root.get(k)));
    if (key !== undefined) {
      walk.flatten(root.get(key), '', out);
      for (const [entryKey, value] of root) {
        if (entryKey !== key) defineEntry(out.metadata, walk.keyName(entryKey), walk.toJson(value));
      }
      return { format, tensors: out.tensors, metadata: out.metadata };
    }
  }
  if (!isDict(root) && !Array.isArray(root) && !(root instanceof TensorRef)) {
    throw invalid(`checkpoint holds a ${describe(root)}, not a dict of tensors`);
  }
  walk.flatten(root, '', out);
  return { format, tensors: out.tensors, metadata: out.metadata };
}
