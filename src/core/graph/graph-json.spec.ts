import fc from 'fast-check';
import { CoreError } from '../errors';
import { graphContentHash } from './graph-hash';
import { GRAPH_JSON_FORMAT, GRAPH_JSON_LIMITS, parseGraphJson, toGraphJson } from './graph-json';
import type { ArchitectureGraph } from './ir';
import { op, tinyCnn } from './testing-graphs';
import { buildZooModel } from './zoo';

function errorOf(f: () => unknown): CoreError {
  try {
    f();
  } catch (e) {
    if (e instanceof CoreError) return e;
    throw e;
  }
  throw new Error('expected a CoreError');
}

const DELETE = Symbol('delete');

/** The tiny CNN as plain JSON with the value at a simple JSON path (`$.a[1].b`) replaced or deleted. */
function docWith(path: string, value: unknown): unknown {
  const root: unknown = JSON.parse(JSON.stringify(toGraphJson(tinyCnn())));
  const keys = [...path.matchAll(/\.(\w+)|\[(\d+)\]/g)].map((m) => m[1] ?? Number(m[2]));
  let target = root as Record<string | number, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = keys[keys.length - 1];
  if (value === DELETE) delete target[last];
  else target[last] = value;
  return root;
}

/** The tiny CNN as plain JSON. */
function doc(): ReturnType<typeof toGraphJson> {
  return JSON.parse(JSON.stringify(toGraphJson(tinyCnn())));
}

describe('graph JSON', () => {
  it.each(['resnet18', 'vit_b_32', 'mobilenet_v3_small', 'densenet121', 'shufflenet_v2_x0_5'])(
    'round-trips %s through JSON text',
    (name) => {
      const g = buildZooModel(name);
      const json = toGraphJson(g);
      expect(json.format).toBe(GRAPH_JSON_FORMAT);
      const back = parseGraphJson(JSON.parse(JSON.stringify(json)));
      expect(back).toEqual(g);
      expect(graphContentHash(back)).toBe(graphContentHash(g));
    },
  );

  it('accepts JSON text, optional node names and attributes, and keeps aliasOf', () => {
    const d = docWith('$.nodes[2].name', DELETE) as { nodes: Record<string, unknown>[]; initializers: Record<string, unknown>[] };
    delete d.nodes[2].attributes;
    d.initializers[3].aliasOf = 'bn.weight';
    const g = parseGraphJson(JSON.stringify(d));
    expect(g.nodes[2]).toEqual({ name: '', opType: 'Relu', inputs: ['b'], outputs: ['r'], attributes: {} });
    expect(g.initializers[3].aliasOf).toBe('bn.weight');
  });

  it('carries non-finite constant elements as strings', () => {
    const g: ArchitectureGraph = tinyCnn();
    g.nodes.push(op('Constant', [], ['k'], { value: { dtype: 'F32', shape: [3], values: [1, -Infinity, Number.NaN] } }));
    const text = JSON.stringify(toGraphJson(g));
    expect(text).toContain('[1,"-Infinity","NaN"]');
    expect(parseGraphJson(text).nodes[6].attributes.value).toEqual({ dtype: 'F32', shape: [3], values: [1, -Infinity, NaN] });
  });

  it('refuses to write a non-finite plain attribute', () => {
    const g = tinyCnn();
    g.nodes[1].attributes.epsilon = Infinity;
    expect(errorOf(() => toGraphJson(g)).code).toBe('GRAPH_INVALID');
  });

  const long = 'x'.repeat(GRAPH_JSON_LIMITS.stringLength + 1);
  const constant = (value: unknown) => ({ opType: 'Constant', inputs: [], outputs: ['k'], attributes: { value } });
  it.each<[string, string, unknown, string, RegExp]>([
    ['another format', '$.format', 'onnx', '$.format', /weightsmith\.graph\/v1/],
    ['a missing field', '$.nodes', DELETE, '$.nodes', /missing/],
    ['an unknown field', '$.weights', [], '$.weights', /unknown field/],
    ['an unknown node field', '$.nodes[1].domain', 'x', '$.nodes[1].domain', /unknown field/],
    ['a bad dtype', '$.initializers[2].dtype', 'float32', '$.initializers[2].dtype', /expected a dtype/],
    ['a negative dim', '$.initializers[0].shape[1]', -3, '$.initializers[0].shape[1]', /integer/],
    ['a fractional dim', '$.inputs[0].shape[2]', 2.5, '$.inputs[0].shape[2]', /integer/],
    ['a huge shape', '$.initializers[0].shape', [2 ** 30, 2 ** 30, 2 ** 30], '$.initializers[0].shape', /safe integer/],
    ['a too-high rank', '$.initializers[0].shape', new Array(65).fill(1), '$.initializers[0].shape', /limit 64/],
    ['too many nodes', '$.nodes', new Array(GRAPH_JSON_LIMITS.nodes + 1).fill(null), '$.nodes', /limit 200000/],
    ['a too-long name', '$.nodes[0].name', long, '$.nodes[0].name', /longer than 4096/],
    ['a non-string input', '$.nodes[3].inputs', [7], '$.nodes[3].inputs[0]', /expected a string/],
    ['isParameter as a string', '$.initializers[1].isParameter', 'yes', '$.initializers[1].isParameter', /true or false/],
    ['a mixed attribute array', '$.nodes[0].attributes.pads', [1, 'a'], '$.nodes[0].attributes.pads[1]', /finite number/],
    ['an object attribute that is no tensor', '$.nodes[0].attributes.pads', { a: 1 }, '$.nodes[0].attributes.pads.a', /unknown field/],
    ['a __proto__ attribute', '$.nodes[0].attributes', JSON.parse('{"__proto__": 1}'), '$.nodes[0].attributes.__proto__', /attribute name/],
    ['a short constant', '$.nodes[6]', constant({ dtype: 'I64', shape: [2, 2], values: [1, 2, 3] }), '$.nodes[6].attributes.value.values', /needs 4/],
    ['a fractional int64 constant', '$.nodes[6]', constant({ dtype: 'I64', shape: [1], values: [0.5] }), '$.nodes[6].attributes.value.values[0]', /integer/],
    ['an aliasOf that names nothing', '$.initializers[3].aliasOf', 'nope', '$.initializers[3].aliasOf', /not another initializer/],
    ['an undefined node input (validateGraph)', '$.nodes[4].inputs', ['ghost'], '$.nodes[4].inputs[0]', /reads "ghost"/],
  ])('rejects %s with GRAPH_INVALID at its JSON path', (_what, at, value, path, message) => {
    const e = errorOf(() => parseGraphJson(docWith(at, value)));
    expect(e.code).toBe('GRAPH_INVALID');
    expect(e.details?.path).toBe(path);
    expect(e.message).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{"format":', /^\$: not valid JSON/],
    ['a non-object', [1, 2], /^\$: expected an object, got an array/],
  ])('rejects %s', (_what, input, message) => {
    expect(errorOf(() => parseGraphJson(input)).message).toMatch(message);
  });

  it('passes on the cycle and unknown-op codes of validateGraph', () => {
    const cyclic = doc();
    cyclic.nodes[2].inputs = ['f'];
    expect(errorOf(() => parseGraphJson(cyclic)).code).toBe('GRAPH_CYCLE');
    const unknown = doc();
    unknown.nodes[2].opType = 'MyOp';
    expect(errorOf(() => parseGraphJson(unknown)).code).toBe('GRAPH_UNKNOWN_OP');
  });

  it('bounds the total size of constant tensors', () => {
    const value = { dtype: 'F32', shape: [GRAPH_JSON_LIMITS.constantElements + 1], values: [] };
    const d = docWith('$.nodes[6]', { opType: 'Constant', inputs: [], outputs: ['k'], attributes: { value } });
    expect(errorOf(() => parseGraphJson(d)).message).toMatch(/constant tensors hold more than/);
  });

  it('throws only CoreErrors on arbitrary JSON and on randomly broken documents', () => {
    const rejectsCleanly = (input: unknown): void => {
      try {
        parseGraphJson(input);
      } catch (e) {
        expect(e).toBeInstanceOf(CoreError);
      }
    };
    fc.assert(fc.property(fc.jsonValue(), rejectsCleanly), { numRuns: 200 });
    const paths = [
      '$.opset', '$.name', '$.modelClass', '$.inputs[0]', '$.inputs[0].shape', '$.outputs', '$.initializers[0]',
      '$.initializers[6].shape', '$.nodes[0]', '$.nodes[0].attributes.pads', '$.nodes[2].inputs', '$.nodes[5].outputs',
      '$.valueInfo[1].shape[0]', '$.nodes[0].attributes',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), (path, value) => rejectsCleanly(docWith(path, value))),
      { numRuns: 300 },
    );
  });
});
