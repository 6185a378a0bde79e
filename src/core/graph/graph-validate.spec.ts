import { CoreError } from '../errors';
import { KNOWN_OPS } from './graph-ops';
import { topologicalOrder, validateGraph } from './graph-validate';
import type { ArchitectureGraph } from './ir';
import { cloneGraph, op, param, tinyCnn } from './testing-graphs';
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

function chain(length: number): ArchitectureGraph {
  const g = tinyCnn();
  g.initializers = [];
  g.valueInfo = undefined;
  g.nodes = Array.from({ length }, (_, i) => op('Relu', [i === 0 ? 'input' : `v${i - 1}`], [i === length - 1 ? 'logits' : `v${i}`]));
  return g;
}

describe('validateGraph', () => {
  it.each(['resnet18', 'vit_b_16', 'densenet121', 'inception_v3', 'shufflenet_v2_x0_5', 'efficientnet_b0', 'convnext_tiny'])(
    'accepts the zoo model %s',
    (name) => {
      expect(() => validateGraph(buildZooModel(name))).not.toThrow();
    },
  );

  it('allowlists every op type the zoo emits, and rejects others naming the op', () => {
    for (const name of ['vit_b_16', 'mobilenet_v3_large', 'shufflenet_v2_x1_0', 'inception_v3', 'efficientnet_b0']) {
      for (const node of buildZooModel(name).nodes) expect(KNOWN_OPS.has(node.opType)).toBe(true);
    }
    const g = tinyCnn();
    g.nodes[2].opType = 'FancyRelu';
    const e = errorOf(() => validateGraph(g));
    expect(e.code).toBe('GRAPH_UNKNOWN_OP');
    expect(e.message).toContain('"FancyRelu"');
    expect(e.details).toMatchObject({ path: '$.nodes[2].opType', opType: 'FancyRelu' });
  });

  it('accepts nodes listed out of order, and topologicalOrder sorts them', () => {
    const g = tinyCnn();
    g.nodes.reverse();
    expect(() => validateGraph(g)).not.toThrow();
    expect(topologicalOrder(g).map((n) => n.opType)).toEqual(['Conv', 'BatchNormalization', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm']);
  });

  it('keeps the file order when it is already topological', () => {
    const g = buildZooModel('googlenet');
    expect(topologicalOrder(g)).toEqual(g.nodes);
  });

  it('reports a cycle naming a node on it, even out of order', () => {
    const g = tinyCnn();
    // Relu now reads the Flatten output: Relu → pool → Flatten → Relu.
    g.nodes[2].inputs = ['f'];
    g.nodes.reverse();
    const e = errorOf(() => validateGraph(g));
    expect(e.code).toBe('GRAPH_CYCLE');
    const onCycle = ['/relu/Relu', '/pool/GlobalAveragePool', '/Flatten'];
    expect(onCycle).toContain(e.details?.node);
    expect(e.details?.cycle).toEqual(expect.arrayContaining(onCycle));
    expect(e.message).toMatch(/cycle/);
  });

  it('reports a node that reads its own output', () => {
    const g = tinyCnn();
    g.nodes[2].inputs = ['r'];
    const e = errorOf(() => topologicalOrder(g));
    expect(e.code).toBe('GRAPH_CYCLE');
    expect(e.details?.node).toBe('/relu/Relu');
  });

  it('walks a 100k-node chain without overflowing the stack', () => {
    const g = chain(100_000);
    g.nodes.reverse();
    expect(() => validateGraph(g)).not.toThrow();
    expect(topologicalOrder(g)[0].inputs).toEqual(['input']);
  });

  it.each<[string, (g: ArchitectureGraph) => void, RegExp, string]>([
    ['an undefined input', (g) => (g.nodes[3].inputs = ['nope']), /reads "nope"/, '$.nodes[3].inputs[0]'],
    ['a duplicate node output', (g) => (g.nodes[3].outputs = ['r']), /redefines the value "r"/, '$.nodes[3].outputs[0]'],
    ['a node output named like an initializer', (g) => (g.nodes[2].outputs = ['fc.bias']), /redefines/, '$.nodes[2].outputs[0]'],
    ['a duplicate initializer', (g) => g.initializers.push(param('conv.weight', [1])), /initializer 9 redefines/, '$.initializers[9].name'],
    ['an initializer named like the input', (g) => g.initializers.push(param('input', [1])), /redefines/, '$.initializers[9].name'],
    ['an undefined graph output', (g) => (g.outputs[0].name = 'missing'), /never defined/, '$.outputs[0].name'],
    ['no graph output', (g) => (g.outputs = []), /no outputs/, '$.outputs'],
    ['an empty initializer name', (g) => (g.initializers[0].name = ''), /empty name/, '$.initializers[0].name'],
    ['a bad opset', (g) => (g.opset = 0), /opset/, '$.opset'],
  ])('rejects %s with GRAPH_INVALID and a path', (_what, mutate, message, path) => {
    const g = cloneGraph(tinyCnn());
    mutate(g);
    const e = errorOf(() => validateGraph(g));
    expect(e.code).toBe('GRAPH_INVALID');
    expect(e.message).toMatch(message);
    expect(e.details?.path).toBe(path);
  });

  it('accepts omitted optional inputs and outputs (empty names)', () => {
    const g = tinyCnn();
    g.nodes[0].inputs = ['input', 'conv.weight', ''];
    g.nodes.push(op('Dropout', ['f'], ['d', '']));
    expect(() => validateGraph(g)).not.toThrow();
  });

  it.each<[string, (g: ArchitectureGraph) => void, string]>([
    ['an input of 2^31 x 2^31 pixels', (g) => (g.inputs[0].shape = ['batch', 3, 2 ** 31, 2 ** 31]), '$.inputs[0].shape'],
    ['an input over 2^31 - 1 elements in all', (g) => (g.inputs[0].shape = ['batch', 3, 40_000, 40_000]), '$.inputs[0].shape'],
    ['an output dim over the limit', (g) => (g.outputs[0].shape = ['batch', 2 ** 31]), '$.outputs[0].shape'],
    ['a valueInfo over the limit', (g) => (g.valueInfo![0].shape = ['batch', 4, 65_536, 65_536]), '$.valueInfo[0].shape'],
    ['an initializer over the limit', (g) => (g.initializers[7].shape = [2 ** 20, 2 ** 20]), '$.initializers[7].shape'],
  ])('rejects %s (one tensor must fit one allocation)', (_what, mutate, path) => {
    const g = cloneGraph(tinyCnn());
    mutate(g);
    const e = errorOf(() => validateGraph(g));
    expect(e.code).toBe('GRAPH_INVALID');
    expect(e.message).toMatch(/exceeds 2147483647, the limit of one tensor/);
    expect(e.details).toMatchObject({ path, limit: 2 ** 31 - 1 });
  });

  describe('shape checks', () => {
    it.each<[string, (g: ArchitectureGraph) => void, RegExp]>([
      ['Conv channels', (g) => (g.inputs[0].shape = ['batch', 5, 8, 8]), /5 channels .* expects 3/],
      ['Conv weight rank', (g) => (g.initializers[0].shape = [4, 3]), /rank 3 or more/],
      ['Conv input rank', (g) => (g.inputs[0].shape = ['batch', 3, 8]), /rank 3 but the weight/],
      ['Conv bias', (g) => (g.initializers[1].shape = [5]), /bias has shape \[5\], expected \[4\]/],
      ['Conv kernel_shape', (g) => (g.nodes[0].attributes.kernel_shape = [5, 5]), /kernel_shape \[5, 5\]/],
      ['Conv output channels', (g) => (g.valueInfo![0].shape = ['batch', 6, 8, 8]), /output has 6 channels/],
      ['BatchNorm mean', (g) => (g.initializers[4].shape = [8]), /mean has shape \[8\], expected \[4\]/],
      ['Gemm inner dims', (g) => (g.initializers[7].shape = [2, 5]), /inner dimensions differ/],
      ['Gemm rank', (g) => (g.initializers[7].shape = [2, 4, 1]), /2-D operands/],
      ['Gemm bias', (g) => (g.initializers[8].shape = [3]), /C has shape \[3\]/],
    ])('rejects a %s mismatch', (_what, mutate, message) => {
      const g = cloneGraph(tinyCnn());
      mutate(g);
      const e = errorOf(() => validateGraph(g));
      expect(e.code).toBe('GRAPH_INVALID');
      expect(e.message).toMatch(message);
      expect(e.details?.path).toMatch(/^\$\.nodes\[\d+\]$/);
    });

    it('checks grouped convolutions (depthwise weight [C, 1, k, k])', () => {
      const g = tinyCnn();
      g.initializers[0].shape = [3, 1, 3, 3];
      g.initializers[1].shape = [3];
      g.nodes[0].attributes.group = 3;
      g.valueInfo = undefined;
      g.nodes.splice(1); // Conv only
      g.nodes[0].outputs = ['logits'];
      g.outputs[0].shape = ['batch', 3, 8, 8];
      expect(() => validateGraph(g)).not.toThrow();
      g.nodes[0].attributes.group = 2;
      expect(errorOf(() => validateGraph(g)).message).toMatch(/expects 2/);
    });

    it('checks MatMul and LayerNormalization shapes from valueInfo', () => {
      const g = tinyCnn();
      g.initializers.push(param('proj', [5, 7]), param('ln.weight', [2]));
      g.nodes.push(op('MatMul', ['logits', 'proj'], ['m']));
      expect(errorOf(() => validateGraph(g)).message).toMatch(/MatMul.*inner dimensions differ/);
      g.nodes[g.nodes.length - 1] = op('LayerNormalization', ['logits', 'ln.weight'], ['m'], { axis: -1 });
      expect(() => validateGraph(g)).not.toThrow();
      g.initializers[g.initializers.length - 1].shape = [3];
      expect(errorOf(() => validateGraph(g)).message).toMatch(/scale has shape \[3\]/);
    });
  });
});
