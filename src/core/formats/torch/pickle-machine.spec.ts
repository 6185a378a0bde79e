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

/** Made by CPython 3.11's pickle.dumps of the same dict at protocols 0, 2 and 5 (see the test). */
const CPYTHON_PICKLES: Record<string, string> = {
  0:
    '286470300a56690a70310a286c70320a49300a61492d310a614936353533360a61492d323134373438333634380a614c' +
    '393232333337323033363835343737353830384c0a617356660a70330a286c70340a462d312e350a614631652b333030' +
    '0a617356730a70350a286c70360a56636166e90a70370a6156615c7530303061620a70380a61565c75346532645c5530' +
    '303031663630300a70390a617356740a7031300a284930310a4e747031310a73566f640a7031320a63636f6c6c656374' +
    '696f6e730a4f726465726564446963740a7031330a2874527031340a567a0a7031350a49310a7373567365740a703136' +
    '0a635f5f6275696c74696e5f5f0a7365740a7031370a28286c7031380a49330a61747031390a527032300a735666730a' +
    '7032310a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7032320a28286c7032330a49340a61747032340a52' +
    '7032350a7356620a7032360a635f636f646563730a656e636f64650a7032370a28565c7530303030ff0a7032380a566c' +
    '6174696e310a7032390a747033300a527033310a73567368617265640a7033320a286c7033330a286c7033340a49310a' +
    '6149320a61616733340a61732e',
  2:
    '80027d71002858010000006971015d7102284b004affffffff4a000001004a000000808a090000000000000080006558' +
    '010000006671035d71042847bff8000000000000477e37e43c8800759c6558010000007371055d710628580500000063' +
    '6166c3a971075803000000610a6271085807000000e4b8adf09f9880710965580100000074710a884e86710b58020000' +
    '006f64710c63636f6c6c656374696f6e730a4f726465726564446963740a710d2952710e58010000007a710f4b017358' +
    '030000007365747110635f5f6275696c74696e5f5f0a7365740a71115d71124b03618571135271145802000000667371' +
    '15635f5f6275696c74696e5f5f0a66726f7a656e7365740a71165d71174b0461857118527119580100000062711a635f' +
    '636f646563730a656e636f64650a711b580300000000c3bf711c58060000006c6174696e31711d86711e52711f580600' +
    '000073686172656471205d7121285d7122284b014b0265682265752e',
  5:
    '800595ce000000000000007d94288c0169945d94284b004affffffff4a000001004a000000808a090000000000000080' +
    '00658c0166945d942847bff8000000000000477e37e43c8800759c658c0173945d94288c05636166c3a9948c03610a62' +
    '948c07e4b8adf09f988094658c017494884e86948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564' +
    '446963749493942952948c017a944b01738c03736574948f94284b03908c02667394284b0491948c016294430200ff94' +
    '8c06736861726564945d94285d94284b014b0265681a65752e',
};

describe('unpickle', () => {
  it.each(Object.keys(CPYTHON_PICKLES))('decodes a CPython protocol %s pickle of plain data', async (protocol) => {
    // l = [1, 2]; {'i': [0, -1, 65536, -2**31, 2**63], 'f': [-1.5, 1e300], 's': ['café', 'a\nb', '中😀'],
    //  't': (True, None), 'od': OrderedDict(z=1), 'set': {3}, 'fs': frozenset([4]), 'b': b'\x00\xff', 'shared': [l, l]}
    const value = (await load(Uint8Array.from(Buffer.from(CPYTHON_PICKLES[protocol], 'hex')))) as Map<string, unknown>;
    expect(Object.fromEntries(value)).toEqual({
      i: [0, -1, 65536, -(2 ** 31), 2n ** 63n],
      f: [-1.5, 1e300],
      s: ['café', 'a\nb', '中😀'],
      t: [true, null],
      od: new Map([['z', 1]]),
      set: new PySet([3], false),
      fs: new PySet([4], true),
      b: Uint8Array.from([0, 0xff]),
      shared: [[1, 2], [1, 2]],
    });
    const shared = value.get('shared') as unknown[];
    expect(shared[0]).toBe(shared[1]);
  });

  it('decodes protocol 0 text opcodes', async () => {
    const text = "(dp0\nS'a\\x41\\n'\np1\nI42\nsS'b'\nF-1.5\nsVcaf\\u00e9\x80\nL123456789012345678901L\nsS't'\n(I01\nI00\nNtsS'l'\n(lp2\nI-3\naI7\nasI5\ng1\ns.";
    const value = (await load(latin1(text))) as Map<unknown, unknown>;
    expect([...value.entries()]).toEqual([
      ['aA\n', 42],
      ['b', -1.5],
      ['café\u0080', 123456789012345678901n],
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

  it('handles containers of many items (no spread-argument limits)', async () => {
    const many = 300_000;
    const data = new Uint8Array(many + 6);
    data.set([0x80, 4, 0x8f, 0x28]);
    data.fill(0x4e, 4, 4 + many);
    data.set([0x90, 0x2e], 4 + many);
    expect(((await load(data)) as PySet).items.length).toBe(many);
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
