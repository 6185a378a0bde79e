import { PyCallable, resolveGlobal, type PickleContext } from './allowlist';
import { PickleInput } from './pickle-input';
import { decodeLong, latin1Text, decodeRawUnicodeEscape, parseFloatText, parseIntText, unquotePythonString } from './pickle-text';
import { PySet, SourceBytes, TensorRef, describe, isDict, isInt, isList, isTuple, pickleError } from './pickle-values';

/** Bytes payloads above this size stay in the source as SourceBytes instead of being read. */
const INLINE_BYTES_LIMIT = 16 * 1024;
/** Python ints wider than this are not needed by any checkpoint (torch's magic number is 10 bytes). */
const MAX_LONG_BYTES = 1024;
const LOOKAHEAD_BYTES = 16;

const utf8 = new TextDecoder('utf-8');
const latin1 = { decode: latin1Text };

/**
 * A restricted pickle virtual machine: it implements the opcodes of protocols 0-5 that carry data,
 * and resolves globals only through `resolveGlobal` (the allowlist), which refuses anything else
 * before it could be called. Reads one pickle from `input` and leaves `input.pos` after its STOP.
 */
export async function unpickle(input: PickleInput, ctx: PickleContext = {}): Promise<unknown> {
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const floor = () => (marks.length ? marks[marks.length - 1] : 0);
  const pop = (): unknown => {
    if (stack.length <= floor()) throw pickleError(`pickle stack underflow at offset ${input.pos}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length <= floor()) throw pickleError(`pickle stack underflow at offset ${input.pos}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) throw pickleError(`pickle MARK missing at offset ${input.pos}`);
    return stack.splice(mark);
  };
  const need = async (n: number) => {
    const pending = input.ensure(n);
    if (pending) await pending;
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) throw pickleError(`pickle memo has no entry ${index}`);
    return memo.get(index);
  };
  const memoPut = (index: number) => {
    if (!Number.isSafeInteger(index) || index < 0) throw pickleError(`invalid pickle memo index`);
    memo.set(index, top());
  };
  const readBytes = async (n: number): Promise<Uint8Array | SourceBytes> => {
    if (n > input.remaining) throw pickleError(`pickle truncated: bytes of length ${n} at offset ${input.pos}`);
    if (n > INLINE_BYTES_LIMIT) {
      const ref = new SourceBytes(input.source, input.pos, n);
      input.skip(n);
      return ref;
    }
    await need(n);
    return input.bytes(n);
  };
  const readText = async (n: number, decoder: { decode(bytes: Uint8Array): string } = utf8): Promise<string> => {
    await need(n);
    return decoder.decode(input.bytes(n));
  };
  const readLine = async () => latin1Text(await input.line());
  const readNameLine = async () => utf8.decode(await input.line());
  const setItems = (target: unknown, items: unknown[]) => {
    if (!isDict(target)) throw pickleError(`cannot set items on a ${describe(target)}`);
    if (items.length % 2 !== 0) throw pickleError('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) target.set(checkKey(items[i]), items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!isList(target)) throw pickleError(`cannot append to a ${describe(target)}`);
    for (const item of items) target.push(item);
  };
  const call = async (callable: unknown, args: unknown) => {
    if (!(callable instanceof PyCallable)) throw pickleError(`cannot call a ${describe(callable)}`);
    if (!isTuple(args)) throw pickleError(`call arguments must be a tuple, got ${describe(args)}`);
    return await callable.invoke(args, ctx);
  };
  const persistent = async (pid: unknown) => {
    if (!ctx.persistentLoad) throw pickleError('unexpected persistent id in pickle');
    return await ctx.persistentLoad(pid);
  };

  for (;;) {
    // Buffer enough for any opcode with fixed-size arguments, so those read synchronously.
    const pending = input.ensure(Math.min(LOOKAHEAD_BYTES, input.remaining));
    if (pending) await pending;
    input.require(1);
    const opcode = input.u8();
    switch (opcode) {
      case 0x80: { // PROTO
        input.require(1);
        const version = input.u8();
        if (version > 5) throw pickleError(`unsupported pickle protocol ${version}`);
        break;
      }
      case 0x95: { // FRAME: framing is only a read-ahead hint
        input.require(8);
        const length = input.u64();
        if (length > input.remaining) throw pickleError(`pickle frame of ${length} bytes exceeds the input`);
        break;
      }
      case 0x2e: // STOP
        return pop();
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: input.require(1); stack.push(input.u8()); break; // BININT1
      case 0x4d: input.require(2); stack.push(input.u16()); break; // BININT2
      case 0x4a: input.require(4); stack.push(input.i32()); break; // BININT
      case 0x8a: { // LONG1
        input.require(1);
        const n = input.u8();
        await need(n);
        stack.push(decodeLong(input.bytes(n)));
        break;
      }
      case 0x8b: { // LONG4
        input.require(4);
        const n = input.i32();
        if (n < 0 || n > MAX_LONG_BYTES) throw pickleError(`unsupported LONG4 length ${n}`);
        await need(n);
        stack.push(decodeLong(input.bytes(n)));
        break;
      }
      case 0x47: input.require(8); stack.push(input.f64be()); break; // BINFLOAT
      case 0x49: { // INT (protocol 0; "00"/"01" are booleans)
        const text = await readLine();
        stack.push(text === '00' ? false : text === '01' ? true : parseIntText(text));
        break;
      }
      case 0x4c: stack.push(parseIntText(await readLine())); break; // LONG
      case 0x46: stack.push(parseFloatText(await readLine())); break; // FLOAT
      case 0x53: stack.push(unquotePythonString(await readLine())); break; // STRING
      case 0x56: stack.push(decodeRawUnicodeEscape(await input.line())); break; // UNICODE
      case 0x55: { input.require(1); stack.push(await readText(input.u8(), latin1)); break; } // SHORT_BINSTRING
      case 0x54: { // BINSTRING
        input.require(4);
        const n = input.i32();
        if (n < 0) throw pickleError('negative BINSTRING length');
        stack.push(await readText(n, latin1));
        break;
      }
      case 0x8c: { input.require(1); stack.push(await readText(input.u8())); break; } // SHORT_BINUNICODE
      case 0x58: { input.require(4); stack.push(await readText(input.u32())); break; } // BINUNICODE
      case 0x8d: { input.require(8); stack.push(await readText(input.u64())); break; } // BINUNICODE8
      case 0x43: { input.require(1); stack.push(await readBytes(input.u8())); break; } // SHORT_BINBYTES
      case 0x42: { input.require(4); stack.push(await readBytes(input.u32())); break; } // BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: { input.require(8); stack.push(await readBytes(input.u64())); break; } // BYTEARRAY8
      case 0x97: throw pickleError('out-of-band pickle buffers are not supported'); // NEXT_BUFFER
      case 0x98: top(); break; // READONLY_BUFFER
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const item = pop(); appendItems(top(), [item]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const dict = new Map(); setItems(dict, items); stack.push(dict); break; } // DICT
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new PySet([], false)); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof PySet) || set.frozen) throw pickleError(`cannot add items to a ${describe(set)}`);
        for (const item of items) set.items.push(item);
        break;
      }
      case 0x91: stack.push(new PySet(popMark(), true)); break; // FROZENSET
      case 0x68: { input.require(1); stack.push(memoGet(input.u8())); break; } // BINGET
      case 0x6a: { input.require(4); stack.push(memoGet(input.u32())); break; } // LONG_BINGET
      case 0x67: stack.push(memoGet(lineIndex(await readLine()))); break; // GET
      case 0x71: { input.require(1); memoPut(input.u8()); break; } // BINPUT
      case 0x72: { input.require(4); memoPut(input.u32()); break; } // LONG_BINPUT
      case 0x70: memoPut(lineIndex(await readLine())); break; // PUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x63: { // GLOBAL
        const module = await readNameLine();
        const name = await readNameLine();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw pickleError('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x69: { // INST: module and name inline, arguments since the mark
        const module = await readNameLine();
        const name = await readNameLine();
        const callable = resolveGlobal(module, name);
        stack.push(await call(callable, Object.freeze(popMark())));
        break;
      }
      case 0x6f: { // OBJ
        const [callable, ...args] = popMark();
        stack.push(await call(callable, Object.freeze(args)));
        break;
      }
      case 0x52: { const args = pop(); const callable = pop(); stack.push(await call(callable, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(await call(cls, args)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!isDict(kwargs) || kwargs.size > 0) throw pickleError('keyword arguments are not supported');
        stack.push(await call(cls, args));
        break;
      }
      case 0x62: { // BUILD: only instance state of dicts (OrderedDict._metadata) and tensors, ignored
        pop();
        const target = top();
        if (!isDict(target) && !(target instanceof TensorRef)) {
          throw pickleError(`cannot BUILD a ${describe(target)}`);
        }
        break;
      }
      case 0x51: stack.push(await persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(await persistent(await readLine())); break; // PERSID
      case 0x82:
      case 0x83:
      case 0x84:
        throw pickleError('pickle extension codes are not supported');
      default:
        throw pickleError(`unknown pickle opcode 0x${opcode.toString(16).padStart(2, '0')} at offset ${input.pos - 1}`, { offset: input.pos - 1 });
    }
  }
}

function lineIndex(text: string): number {
  const value = parseIntText(text);
  if (!isInt(value) || value < 0) throw pickleError('invalid memo index');
  return value;
}

/** Dict keys must be hashable in Python: scalars or tuples. */
function checkKey(key: unknown): unknown {
  if (key === null || typeof key !== 'object' || isTuple(key)) return key;
  if (key instanceof Uint8Array || key instanceof SourceBytes || (key instanceof PySet && key.frozen)) return key;
  throw pickleError(`unhashable dict key of type ${describe(key)}`);
}
