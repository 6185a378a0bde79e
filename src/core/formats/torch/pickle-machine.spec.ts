import { CoreError } from '../../errors';
import { bufferSource } from '../../io/random-access';
import type { PickleContext } from './allowlist';
import { PickleInput } from './pickle-input';
import { unpickle } from './pickle-machine';
import { PySet, SourceBytes } from './pickle-values';
import { call, global, pyBytes, tuple, writePickle } from './testing/pickle-writer';

const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const bytes = (...parts: (number | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...latin1(p)] : [p])));

async function load(data: Uint8Array, ctx?: PickleContext): Promise<unknown> {
  return unpickle(new PickleInput(bufferSource(data), 0, data.length), ctx);
}

async function failure(data: Uint8Array, ctx?: PickleContext): Promise<CoreError> {
  const error = await load(data, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CoreError);
  return error as CoreError;
}

describe('unpickle', () => {
  it('decodes protocol 0 text opcodes', async () => {
    const text = "(dp0\nS'a\\x41\\n'\np1\nI42\nsS'b'\nF-1.5\nsVcaf\\u00e9\nL123456789012345678901L\nsS't'\n(I01\nI00\nNtsS'l'\n(lp2\nI-3\naI7\nasI5\ng1\ns.";
    const value = (await load(latin1(text))) as Map<unknown, unknown>;
    expect([...value.entries()]).toEqual([
      ['aA\n', 42],
      ['b', -1.5],
      ['café', 123456789012345678901n],
      ['t', [true, false, null]],
      ['l', [-3, 7]],
      [5, 'aA\n'],
    ]);
    expect(Object.isFrozen(value.get('t'))).toBe(true);
  });

  it('decodes the binary opcodes of protocols 2-5', async () => {
    const data = bytes(
      0x80, 4, 0x95, 60, 0, 0, 0, 0, 0, 0, 0, // PROTO 4, FRAME
      0x5d, 0x94, 0x28, // EMPTY_LIST, MEMOIZE, MARK
      0x4a, 0xfe, 0xff, 0xff, 0xff, // BININT -2
      0x8a, 2, 0xff, 0x7f, // LONG1 32767
      0x8a, 0, // LONG1 0
      0x47, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, // BINFLOAT pi
      0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 'hi', // BINUNICODE8
      0x8e, 1, 0, 0, 0, 0, 0, 0, 0, 'z', // BINBYTES8
      0x96, 1, 0, 0, 0, 0, 0, 0, 0, 'y', 0x98, // BYTEARRAY8, READONLY_BUFFER
      0x8f, 0x28, 0x4b, 1, 0x4b, 2, 0x90, // EMPTY_SET, ADDITEMS
      0x28, 0x4b, 3, 0x91, // FROZENSET
      0x68, 0, 0x85, // BINGET 0 (the list itself), TUPLE1
      0x65, 0x2e, // APPENDS, STOP
    );
    const value = (await load(data)) as unknown[];
    expect(value.slice(0, 7)).toEqual([-2, 32767, 0, Math.PI, 'hi', latin1('z'), latin1('y')]);
    expect(value[7]).toEqual(new PySet([1, 2], false));
    expect(value[8]).toEqual(new PySet([3], true));
    expect((value[9] as unknown[])[0]).toBe(value);
  });

  it('keeps large bytes payloads in the source', async () => {
    const payload = new Uint8Array(100_000).fill(7);
    const data = writePickle(pyBytes(payload));
    const value = await load(data);
    expect(value).toBeInstanceOf(SourceBytes);
    expect((value as SourceBytes).length).toBe(100_000);
    expect((value as SourceBytes).offset).toBe(7);
  });

  it('builds OrderedDicts and builtin containers through the allowlist', async () => {
    const od = writePickle(call(global('collections', 'OrderedDict'), [tuple('a', 1), tuple('b', 2)]));
    expect(await load(od)).toEqual(new Map([['a', 1], ['b', 2]]));
    const set = writePickle(call(global('__builtin__', 'set'), [1, 2]));
    expect(await load(set)).toEqual(new PySet([1, 2], false));
  });

  it.each([
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'getattr'],
    ['__builtin__', '__import__'],
    ['torch', 'load'],
    ['torch._utils', '_rebuild_device_tensor_from_numpy'],
    ['collections', 'OrderedDict.__init__'],
    ['builtins', 'constructor'],
    ['builtins', '__proto__'],
  ])('refuses the global %s.%s', async (module, name) => {
    for (const data of [
      writePickle(call(global(module, name), 'x')),
      writePickle(call(global(module, name), 'x'), { protocol: 4 }),
      bytes(0x28, 'S\'x\'\n', 'i', `${module}\n${name}\n`, 0x2e), // INST
    ]) {
      const error = await failure(data);
      expect(error.code).toBe('PICKLE_FORBIDDEN_GLOBAL');
      expect(error.message).toContain(`${module}.${name}`);
      expect(error.details).toEqual({ global: `${module}.${name}` });
    }
  });

  it('refuses a forbidden global inside the arguments of an allowed call without making the call', async () => {
    const loadFromBytes = jest.fn();
    const data = writePickle(call(global('torch.storage', '_load_from_bytes'), call(global('nt', 'system'), 'calc')));
    expect((await failure(data, { loadFromBytes })).code).toBe('PICKLE_FORBIDDEN_GLOBAL');
    expect(loadFromBytes).not.toHaveBeenCalled();
  });

  it.each<[string, Uint8Array]>([
    ['an empty input', bytes()],
    ['a missing STOP', bytes(0x80, 2, 0x4e)],
    ['stack underflow', bytes(0x80, 2, 0x30, 0x2e)],
    ['underflow below a MARK', bytes(0x80, 2, 0x4e, 0x28, 0x85, 0x2e)],
    ['a missing MARK', bytes(0x80, 2, 0x74, 0x2e)],
    ['a memo miss', bytes(0x80, 2, 0x68, 3, 0x2e)],
    ['a huge BINUNICODE length', bytes(0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e)],
    ['a huge BINBYTES8 length', bytes(0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x2e)],
    ['a huge FRAME', bytes(0x80, 4, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e)],
    ['a negative LONG4 length', bytes(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0xff, 0x2e)],
    ['an unknown opcode', bytes(0x80, 2, 0xff)],
    ['protocol 6', bytes(0x80, 6, 0x4e, 0x2e)],
    ['an unterminated line', bytes('I12')],
    ['a bad int literal', bytes('Iabc\n.')],
    ['SETITEMS on a list', bytes(0x80, 2, 0x5d, 0x28, 0x4e, 0x4e, 0x75, 0x2e)],
    ['APPENDS on a tuple', bytes(0x80, 2, 0x29, 0x28, 0x4e, 0x65, 0x2e)],
    ['an odd SETITEMS', bytes(0x80, 2, 0x7d, 0x28, 0x4e, 0x75, 0x2e)],
    ['an unhashable key', bytes(0x80, 2, 0x7d, 0x5d, 0x4e, 0x73, 0x2e)],
    ['REDUCE of a non-callable', bytes(0x80, 2, 0x4e, 0x29, 0x52, 0x2e)],
    ['REDUCE of a storage type', bytes(0x80, 2, 'ctorch\nFloatStorage\n', 0x29, 0x52, 0x2e)],
    ['wrong arity for _rebuild_tensor_v2', writePickle(call(global('torch._utils', '_rebuild_tensor_v2'), 1))],
    ['BUILD on a list', bytes(0x80, 2, 0x5d, 0x4e, 0x62, 0x2e)],
    ['a persistent id without a loader', bytes(0x80, 2, 0x4e, 0x51, 0x2e)],
    ['an extension code', bytes(0x80, 2, 0x82, 1, 0x2e)],
    ['an out-of-band buffer', bytes(0x80, 5, 0x97, 0x2e)],
    ['STACK_GLOBAL of non-strings', bytes(0x80, 4, 0x4e, 0x4e, 0x93, 0x2e)],
    ['_load_from_bytes without a loader', writePickle(call(global('torch.storage', '_load_from_bytes'), pyBytes(new Uint8Array(2))))],
  ])('refuses %s with PICKLE_INVALID', async (_, data) => {
    expect((await failure(data)).code).toBe('PICKLE_INVALID');
  });

  it('passes persistent ids to the loader and stops right after STOP', async () => {
    const persistentLoad = jest.fn((pid: unknown) => ({ pid }));
    const data = bytes(0x80, 2, 0x4b, 9, 0x51, 0x2e, 0xde, 0xad);
    const input = new PickleInput(bufferSource(data), 0, data.length);
    expect(await unpickle(input, { persistentLoad })).toEqual({ pid: 9 });
    expect(input.pos).toBe(6);
  });
});
