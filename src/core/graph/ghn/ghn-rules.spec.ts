import { readFileSync } from 'node:fs';
import { CoreError } from '../../errors';
import { fixturesDir } from '../../testing/fixtures';
import type { ArchitectureGraph, AttributeValue, GraphNode, Initializer } from '../ir';
import { importOnnxGraph } from '../onnx-import';
import { buildGhnGraph } from './build-ghn-graph';
import type { GhnBuilderName, GhnGraph, GhnOp } from './ghn-graph';
import { parseGhnGraphJson } from './ghn-graph-json';

/** A tiny exporter-style op graph written by hand. */
class Net {
  private readonly nodes: GraphNode[] = [];
  private readonly initializers: Initializer[] = [];
  private count = 0;

  constructor(private readonly inputShape: (number | string)[]) {}

  param(name: string, shape: number[]): string {
    this.initializers.push({ name, dtype: 'F32', shape, isParameter: true });
    return name;
  }

  buffer(name: string, shape: number[]): string {
    this.initializers.push({ name, dtype: 'F32', shape, isParameter: false });
    return name;
  }

  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const name = `/${opType}_${this.count++}`;
    const out = output ?? `${name}_output_0`;
    this.nodes.push({ name, opType, inputs, outputs: [out], attributes });
    return out;
  }

  conv(x: string, m: string, cin: number, cout: number, opts: { bias?: boolean; group?: number; weight?: string } = {}): string {
    const w = opts.weight ?? this.param(`${m}.weight`, [cout, cin / (opts.group ?? 1), 3, 3]);
    const inputs = opts.bias ? [x, w, this.param(`${m}.bias`, [cout])] : [x, w];
    return this.op('Conv', inputs, { group: opts.group ?? 1, kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  }

  bn(x: string, m: string, c: number, weight?: string): string {
    const w = weight ?? this.param(`${m}.weight`, [c]);
    const inputs = [x, w, this.param(`${m}.bias`, [c]), this.buffer(`${m}.running_mean`, [c]), this.buffer(`${m}.running_var`, [c])];
    return this.op('BatchNormalization', inputs, { epsilon: 1e-5 });
  }

  linear(x: string, m: string, cin: number, cout: number, output?: string): string {
    return this.op('Gemm', [x, this.param(`${m}.weight`, [cout, cin]), this.param(`${m}.bias`, [cout])], { transB: 1 }, output);
  }

  silu(x: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x])]);
  }

  graph(outputs: string[], modelClass?: string): ArchitectureGraph {
    return {
      name: 'net',
      modelClass,
      opset: 17,
      inputs: [{ name: 'input', dtype: 'F32', shape: this.inputShape }],
      outputs: outputs.map((name) => ({ name, dtype: 'F32', shape: ['batch', 10] })),
      initializers: this.initializers,
      nodes: this.nodes,
    };
  }
}

/** Real (distance-1) edges by node name (op name for parameter-free nodes). */
function realEdges(g: GhnGraph): string[] {
  const label = (i: number): string => (g.nodes[i].info && g.nodes[i].moduleType ? g.nodes[i].name : g.nodes[i].op);
  return g.edges.filter((e) => e[2] === 1).map(([s, t]) => `${label(s)} -> ${label(t)}`).sort();
}

function opCounts(g: GhnGraph): Partial<Record<GhnOp, number>> {
  const counts: Partial<Record<GhnOp, number>> = {};
  for (const n of g.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}

function expectCoreError(run: () => unknown, code: string, message?: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CoreError);
  expect((error as CoreError).code).toBe(code);
  if (message) expect((error as CoreError).message).toMatch(message);
}

describe('GHN builder rules on hand-written graphs', () => {
  it('wires a bias-free Linear as input→W→next and x→next (ghn3), x→W→next (ppuda)', () => {
    const n = new Net(['batch', 16]);
    const h = n.op('Relu', [n.linear('input', 'fc1', 16, 32)]);
    const mm = n.op('MatMul', [h, n.op('Transpose', [n.param('fc2.weight', [32, 32])], { perm: [1, 0] })]);
    const graph = n.graph([n.linear(mm, 'head', 32, 10, 'logits')]);
    const ghn3 = buildGhnGraph(graph, { builder: 'ghn3' });
    expect(realEdges(ghn3)).toEqual(
      [
        'input -> fc1.weight',
        'fc1.weight -> fc1.bias',
        'fc1.bias -> head.weight',
        'input -> fc2.weight',
        'fc2.weight -> head.weight',
        'head.weight -> head.bias',
      ].sort(),
    );
    const ppuda = buildGhnGraph(graph, { builder: 'ppuda' });
    expect(realEdges(ppuda)).toEqual(
      ['input -> fc1.weight', 'fc1.weight -> fc1.bias', 'fc1.bias -> fc2.weight', 'fc2.weight -> head.weight', 'head.weight -> head.bias'].sort(),
    );
    for (const g of [ghn3, ppuda]) {
      expect(g.nodes[0].op).toBe('input');
      expect(g.nodes.slice(-2).map((x) => x.name)).toEqual(['head.weight', 'head.bias']);
      expect(g.expectedInputSz).toEqual([16]);
    }
  });

  /** conv → BN → act → SE(GlobalAveragePool → fc1 → Relu → fc2 → gate, Mul(scale, x)) → conv → pool → fc. */
  function seNet(act: 'relu' | 'silu' | 'relu6', gate: 'Sigmoid' | 'HardSigmoid' | 'Relu'): ArchitectureGraph {
    const n = new Net(['batch', 3, 8, 8]);
    const activate = (x: string): string =>
      act === 'silu' ? n.silu(x) : act === 'relu6' ? n.op('Clip', [x, n.op('Constant', [], {}), n.op('Constant', [], {})]) : n.op('Relu', [x]);
    const x = activate(n.bn(n.conv('input', 'stem', 3, 8), 'bn', 8));
    const squeezed = n.op('GlobalAveragePool', [x]);
    const s1 = n.op('Relu', [n.conv(squeezed, 'se.fc1', 8, 8, { bias: true })]);
    const scale = n.op(gate, [n.conv(s1, 'se.fc2', 8, 8, { bias: true })]);
    const y = activate(n.conv(n.op('Mul', [scale, x]), 'proj', 8, 8));
    const pooled = n.op('Flatten', [n.op('GlobalAveragePool', [y])], { axis: 1 });
    return n.graph([n.linear(pooled, 'fc', 8, 10, 'logits')]);
  }

  it('keeps the SE gate as cse and drops the squeeze mean when the net has sigmoid ops (ghn3)', () => {
    for (const [act, gate] of [['relu', 'Sigmoid'], ['relu6', 'HardSigmoid'], ['silu', 'Sigmoid']] as const) {
      const g = buildGhnGraph(seNet(act, gate), { builder: 'ghn3' });
      expect([act, gate, opCounts(g).cse, opCounts(g).glob_avg]).toEqual([act, gate, 1, 1]);
      expect(realEdges(g)).toEqual(expect.arrayContaining(['bn.weight -> cse', 'se.fc2.bias -> cse', 'cse -> proj.weight']));
    }
  });

  it('does not count SiLU (a decomposed Mul·Sigmoid) as a sigmoid op: a ReLU-gated net keeps every mean (ghn3)', () => {
    const g = buildGhnGraph(seNet('silu', 'Relu'), { builder: 'ghn3' });
    expect([opCounts(g).cse, opCounts(g).glob_avg]).toEqual([undefined, 2]);
  });

  it('keeps keepdim means and drops every Mul under ppuda', () => {
    const g = buildGhnGraph(seNet('relu', 'Sigmoid'), { builder: 'ppuda' });
    expect([opCounts(g).cse, opCounts(g).glob_avg]).toEqual([undefined, 2]);
  });

  it('makes BatchNorm2d weights bn nodes but not BatchNorm1d ones (rank from shape inference)', () => {
    const n = new Net(['batch', 3, 8, 8]);
    const x = n.op('Relu', [n.bn(n.conv('input', 'conv', 3, 8), 'bn2d', 8)]);
    const flat = n.op('Flatten', [n.op('GlobalAveragePool', [x])], { axis: 1 });
    const graph = n.graph([n.linear(n.bn(n.linear(flat, 'fc1', 8, 8), 'bn1d', 8), 'fc2', 8, 10, 'logits')]);
    for (const builder of ['ghn3', 'ppuda'] as GhnBuilderName[]) {
      const names = buildGhnGraph(graph, { builder }).nodes.map((x) => x.name);
      expect(names).toContain('bn2d.weight');
      expect(names).not.toContain('bn1d.weight');
      expect(names).not.toContain('bn2d.bias');
    }
  });

  it('treats Identity(parameter) as a parameter of its own and handles shared weights like the official builders', () => {
    const n = new Net(['batch', 3, 8, 8]);
    const shared = n.param('a.weight', [8, 3, 3, 3]);
    const a = n.conv('input', 'a', 3, 8, { weight: shared });
    const b = n.conv('input', 'b', 3, 8, { weight: shared });
    const gamma = n.param('bn1.weight', [8]);
    const alias = n.op('Identity', [gamma], {}, 'bn2.weight');
    const sum = n.op('Add', [n.bn(a, 'bn1', 8, gamma), n.bn(b, 'bn2', 8, alias)]);
    const graph = n.graph([n.linear(n.op('Flatten', [n.op('GlobalAveragePool', [sum])], { axis: 1 }), 'fc', 8, 10, 'logits')]);
    const g = buildGhnGraph(graph, { builder: 'ghn3' });
    expect(g.nodes.filter((x) => x.name === 'a.weight')).toHaveLength(1);
    expect(g.nodes.find((x) => x.name === 'bn2.weight')?.op).toBe('bn');
    expectCoreError(() => buildGhnGraph(graph, { builder: 'ppuda' }), 'GHN_GRAPH_UNSUPPORTED', /shared weights/);
  });

  it('walks every output under ghn3 and only the first under ppuda', () => {
    const n = new Net(['batch', 16]);
    const h = n.op('Relu', [n.linear('input', 'body', 16, 16)]);
    const graph = n.graph([n.linear(h, 'head1', 16, 10, 'out1'), n.linear(h, 'head2', 16, 10, 'out2')]);
    const names = (builder: GhnBuilderName): string[] => buildGhnGraph(graph, { builder }).nodes.map((x) => x.name);
    expect(names('ghn3')).toEqual(expect.arrayContaining(['head1.weight', 'head2.weight']));
    expect(names('ppuda')).toContain('head1.weight');
    expect(names('ppuda')).not.toContain('head2.weight');
  });
});

describe('GHN builder options and refusals (fixtures)', () => {
  const onnx = (cfg: string, arch: string): ArchitectureGraph =>
    importOnnxGraph(readFileSync(fixturesDir('ghn', 'runs', cfg, `${arch}.onnx`)));
  const fixture = (builder: string, arch: string): GhnGraph =>
    parseGhnGraphJson(readFileSync(fixturesDir('ghn', 'graphs', builder, `${arch}.json`), 'utf8'));

  it('refuses VisionTransformer under ppuda, as the official GHN-2 code', () => {
    expectCoreError(() => buildGhnGraph(onnx('ghn3_h32_l3', 'vit_tiny'), { builder: 'ppuda' }), 'GHN_GRAPH_UNSUPPORTED', /VisionTransformer/);
  });

  it('keeps only real edges with veCutoff 1', () => {
    const g = buildGhnGraph(onnx('ghn3_h32_l3', 'tiny_cnn'), { builder: 'ghn3', veCutoff: 1 });
    expect(g.edges).toEqual(fixture('ghn3', 'tiny_cnn').edges.filter((e) => e[2] === 1));
  });

  it('uses the trainable names when given', () => {
    const graph = onnx('ghn3_h32_l3', 'tiny_cnn');
    const trainable = graph.initializers.filter((i) => i.isParameter && i.name !== 'conv1.bias').map((i) => i.name);
    const names = buildGhnGraph(graph, { builder: 'ghn3', trainableNames: trainable }).nodes.map((n) => n.name);
    expect(names).not.toContain('conv1.bias');
    expect(names).toContain('conv1.weight');
  });

  it('rejects invalid options', () => {
    const graph = onnx('ghn3_h32_l3', 'tiny_mlp');
    expectCoreError(() => buildGhnGraph(graph, { builder: 'ghn9' as GhnBuilderName }), 'INVALID_ARGUMENT');
    expectCoreError(() => buildGhnGraph(graph, { builder: 'ghn3', veCutoff: 0 }), 'INVALID_ARGUMENT');
  });
});
