import type { Dtype } from '../../tensor/dtypes';
import {
  SourceBytes,
  PySet,
  StorageRef,
  TensorRef,
  describe,
  isInt,
  isTuple,
  pickleError,
} from './pickle-values';

/** Hooks through which the unpickler reaches the file being read. */
export interface PickleContext {
  /** Resolves BINPERSID / PERSID ids (torch storages); absent → persistent ids are invalid. */
  persistentLoad?(pid: unknown): unknown | Promise<unknown>;
  /** Rebuilds a storage from an inner legacy torch.save byte string (torch.storage._load_from_bytes). */
  loadFromBytes?(payload: Uint8Array | SourceBytes): Promise<unknown>;
}

/** A torch.*Storage class: only ever used as a tag inside persistent ids. */
export class StorageType {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: Dtype,
  ) {}
}

/** A torch.float32-style dtype object. */
export class TorchDtype {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: Dtype,
  ) {}
}

/** A class used only as a type tag (torch.Tensor, torch.nn.Parameter). */
export class TypeTag {
  constructor(readonly qualifiedName: string) {}
}

/** One of the few functions/classes the unpickler may call; each is implemented here, in JS. */
export class PyCallable {
  constructor(
    readonly qualifiedName: string,
    readonly invoke: (args: readonly unknown[], ctx: PickleContext) => unknown,
  ) {}
}

export type AllowedGlobal = StorageType | TorchDtype | TypeTag | PyCallable;

const STORAGE_DTYPES: Record<string, Dtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  UntypedStorage: 'U8',
};

const TORCH_DTYPES: Record<string, Dtype> = {
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  double: 'F64',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

function expectArgs(fn: string, args: readonly unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw pickleError(`${fn} takes ${min === max ? min : `${min}-${max}`} arguments, got ${args.length}`);
  }
}

function intSequence(fn: string, what: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => isInt(v) && v >= 0)) {
    throw pickleError(`${fn}: ${what} must be a tuple of non-negative integers, got ${describe(value)}`);
  }
  return value as number[];
}

function pairsToMap(fn: string, items: unknown): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  if (items instanceof Map) return new Map(items);
  if (!Array.isArray(items)) throw pickleError(`${fn}: expected a sequence of pairs, got ${describe(items)}`);
  for (const pair of items) {
    if (!Array.isArray(pair) || pair.length !== 2) throw pickleError(`${fn}: expected (key, value) pairs`);
    map.set(pair[0], pair[1]);
  }
  return map;
}

function rebuildTensorV2(args: readonly unknown[]): TensorRef {
  const fn = 'torch._utils._rebuild_tensor_v2';
  expectArgs(fn, args, 6, 7);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw pickleError(`${fn}: expected a storage, got ${describe(storage)}`);
  if (!isInt(offset) || offset < 0) throw pickleError(`${fn}: invalid storage offset`);
  const shape = intSequence(fn, 'size', size);
  const strides = intSequence(fn, 'stride', stride);
  if (shape.length !== strides.length) throw pickleError(`${fn}: size and stride lengths differ`);
  return new TensorRef(storage, offset, shape, strides);
}

function rebuildParameter(fn: string, args: readonly unknown[], arity: number): TensorRef {
  expectArgs(fn, args, arity);
  if (!(args[0] instanceof TensorRef)) throw pickleError(`${fn}: expected a tensor, got ${describe(args[0])}`);
  return args[0];
}

function rebuildFromType(args: readonly unknown[], ctx: PickleContext): unknown {
  const fn = 'torch._tensor._rebuild_from_type_v2';
  expectArgs(fn, args, 4);
  const [func, type, funcArgs] = args;
  if (!(func instanceof PyCallable) || !(type instanceof TypeTag) || !isTuple(funcArgs)) {
    throw pickleError(`${fn}: unexpected arguments`);
  }
  return func.invoke(funcArgs, ctx);
}

function loadFromBytes(args: readonly unknown[], ctx: PickleContext): unknown {
  const fn = 'torch.storage._load_from_bytes';
  expectArgs(fn, args, 1);
  const payload = args[0];
  if (!(payload instanceof Uint8Array) && !(payload instanceof SourceBytes)) {
    throw pickleError(`${fn}: expected bytes, got ${describe(payload)}`);
  }
  if (!ctx.loadFromBytes) throw pickleError(`${fn} is not available here`);
  return ctx.loadFromBytes(payload);
}

/** The items of an optional single sequence argument, as in set(iterable) or list(iterable). */
function sequenceArg(fn: string, args: readonly unknown[]): unknown[] {
  expectArgs(fn, args, 0, 1);
  if (args.length === 0) return [];
  const items = args[0] instanceof PySet ? args[0].items : args[0];
  if (!Array.isArray(items)) throw pickleError(`${fn}: expected a sequence, got ${describe(items)}`);
  return [...items];
}

/** _codecs.encode(text, 'latin1'): how protocols 0-2 pickle Python 3 bytes. */
function encodeLatin1(args: readonly unknown[]): Uint8Array {
  expectArgs('_codecs.encode', args, 2);
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw pickleError('_codecs.encode is only supported for latin-1 text');
  }
  return Uint8Array.from(text, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) throw pickleError('_codecs.encode: text is not latin-1');
    return code;
  });
}

const BUILTINS: Record<string, (args: readonly unknown[]) => unknown> = {
  bytes: (args) => Uint8Array.from(sequenceArg('bytes', args) as number[], (b) => {
    if (!isInt(b) || b < 0 || b > 255) throw pickleError('bytes: expected integers in 0..255');
    return b;
  }),
  set: (args) => new PySet(sequenceArg('set', args), false),
  frozenset: (args) => new PySet(sequenceArg('frozenset', args), true),
  list: (args) => sequenceArg('list', args),
  tuple: (args) => Object.freeze(sequenceArg('tuple', args)),
  dict: (args) => (expectArgs('dict', args, 0, 1), args.length ? pairsToMap('dict', args[0]) : new Map()),
};

const CALLABLES: Record<string, (args: readonly unknown[], ctx: PickleContext) => unknown> = {
  'collections.OrderedDict': (args) => (expectArgs('OrderedDict', args, 0, 1), args.length ? pairsToMap('OrderedDict', args[0]) : new Map()),
  'torch._utils._rebuild_tensor_v2': rebuildTensorV2,
  'torch._utils._rebuild_parameter': (args) => rebuildParameter('torch._utils._rebuild_parameter', args, 3),
  'torch._utils._rebuild_parameter_with_state': (args) => rebuildParameter('torch._utils._rebuild_parameter_with_state', args, 4),
  'torch._tensor._rebuild_from_type_v2': rebuildFromType,
  'torch.storage._load_from_bytes': loadFromBytes,
  '_codecs.encode': encodeLatin1,
};

const TYPE_TAGS = new Set(['torch.Tensor', 'torch._tensor.Tensor', 'torch.nn.parameter.Parameter']);

/**
 * Resolves a pickle GLOBAL. Anything not listed here is refused before any call is made, so a
 * pickle can only ever build the plain data and tensor references this module understands.
 */
export function resolveGlobal(module: string, name: string): AllowedGlobal {
  const qualifiedName = `${module}.${name}`;
  const callable = CALLABLES[qualifiedName];
  if (callable) return new PyCallable(qualifiedName, callable);
  const own = Object.prototype.hasOwnProperty;
  if ((module === 'builtins' || module === '__builtin__') && own.call(BUILTINS, name)) {
    return new PyCallable(qualifiedName, BUILTINS[name]);
  }
  if ((module === 'torch' || module === 'torch.cuda') && own.call(STORAGE_DTYPES, name)) {
    return new StorageType(qualifiedName, STORAGE_DTYPES[name]);
  }
  if (module === 'torch' && own.call(TORCH_DTYPES, name)) return new TorchDtype(qualifiedName, TORCH_DTYPES[name]);
  if (TYPE_TAGS.has(qualifiedName)) return new TypeTag(qualifiedName);
  const shown = qualifiedName.length > 200 ? `${qualifiedName.slice(0, 200)}…` : qualifiedName;
  const message = `refusing to load global ${shown}: it is not on the allowlist of safe checkpoint globals`;
  throw pickleError(message, { global: shown }, 'PICKLE_FORBIDDEN_GLOBAL');
}
