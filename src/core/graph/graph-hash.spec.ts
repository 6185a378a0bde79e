import { canonicalJson, graphContentHash } from './graph-hash';
import type { ArchitectureGraph } from './ir';
import { cloneGraph, op, tinyCnn } from './testing-graphs';
import { buildZooModel } from './zoo';

/** Renames every non-initializer value consistently, as another exporter would name them. */
function renameValues(g: ArchitectureGraph, rename: (name: string) => string): ArchitectureGraph {
  const keep = new Set(g.initializers.map((t) => t.name));
  const r = (n: string): string => (n === '' || keep.has(n) ? n : rename(n));
  const out = cloneGraph(g);
  out.inputs.forEach((v) => (v.name = r(v.name)));
  out.outputs.forEach((v) => (v.name = r(v.name)));
  out.valueInfo?.forEach((v) => (v.name = r(v.name)));
  out.nodes.forEach((n) => {
    n.inputs = n.inputs.map(r);
    n.outputs = n.outputs.map(r);
  });
  return out;
}

describe('graphContentHash', () => {
  const tiny = graphContentHash(tinyCnn());

  it('is a sha256 hex digest, the same for the same zoo architecture built twice', () => {
    expect(graphContentHash(buildZooModel('resnet18'))).toMatch(/^[0-9a-f]{64}$/);
    expect(graphContentHash(buildZooModel('vit_b_32'))).toBe(graphContentHash(buildZooModel('vit_b_32')));
  });

  it('differs between architectures and class counts', () => {
    const r18 = graphContentHash(buildZooModel('resnet18'));
    expect(graphContentHash(buildZooModel('resnet34'))).not.toBe(r18);
    expect(graphContentHash(buildZooModel('resnet18', { numClasses: 10 }))).not.toBe(r18);
  });

  it('ignores a consistent renaming of values, node names, the display name, valueInfo and aliasOf', () => {
    let counter = 0;
    const names = new Map<string, string>();
    const renamed = renameValues(buildZooModel('squeezenet1_1'), (n) => {
      if (!names.has(n)) names.set(n, `onnx::Tensor_${counter++}`);
      return names.get(n) as string;
    });
    renamed.nodes.forEach((n, i) => (n.name = `node_${i}`));
    renamed.name = 'my squeezenet';
    renamed.valueInfo = undefined;
    renamed.initializers[3].aliasOf = renamed.initializers[1].name;
    expect(graphContentHash(renamed)).toBe(graphContentHash(buildZooModel('squeezenet1_1')));
  });

  it('ignores where Constant nodes sit and whether equal constants are shared, not their values', () => {
    const g = buildZooModel('vit_b_32');
    const hash = graphContentHash(g);
    const moved = cloneGraph(g);
    moved.nodes.sort((a, b) => Number(b.opType === 'Constant') - Number(a.opType === 'Constant'));
    expect(moved.nodes[0].opType).toBe('Constant');
    expect(graphContentHash(moved)).toBe(hash);
    // Point every reader of an equal constant at the first one, and drop the others.
    const shared = cloneGraph(g);
    const firstByValue = new Map<string, string>();
    const replace = new Map<string, string>();
    shared.nodes = shared.nodes.filter((n) => {
      if (n.opType !== 'Constant') return true;
      const key = JSON.stringify(n.attributes);
      const first = firstByValue.get(key);
      if (!first) firstByValue.set(key, n.outputs[0]);
      else replace.set(n.outputs[0], first);
      return !first;
    });
    shared.nodes.forEach((n) => (n.inputs = n.inputs.map((i) => replace.get(i) ?? i)));
    expect(replace.size).toBeGreaterThan(100);
    expect(graphContentHash(shared)).toBe(hash);
    const changed = cloneGraph(g);
    const constant = changed.nodes.find((n) => n.opType === 'Constant' && (n.attributes.value as { values: number[] }).values[0] === 12);
    (constant!.attributes.value as { values: number[] }).values[0] = 6;
    expect(graphContentHash(changed)).not.toBe(hash);
  });

  it('ignores the names of symbolic dims', () => {
    const g = tinyCnn();
    g.inputs[0].shape[0] = 'N';
    g.outputs[0].shape[0] = 'N';
    expect(graphContentHash(g)).toBe(tiny);
    g.outputs[0].shape[0] = 'M';
    expect(graphContentHash(g)).not.toBe(tiny);
  });

  it.each<[string, (g: ArchitectureGraph) => void]>([
    ['modelClass', (g) => (g.modelClass = 'Other')],
    ['opset', (g) => (g.opset = 13)],
    ['an attribute', (g) => (g.nodes[0].attributes.strides = [2, 2])],
    ['an op type', (g) => (g.nodes[2].opType = 'Sigmoid')],
    ['the wiring', (g) => (g.nodes[2].inputs = ['c'])],
    ['an initializer name', (g) => (g.initializers[0].name = 'conv.w')],
    ['an initializer shape', (g) => (g.initializers[8].shape = [1, 2])],
    ['an initializer dtype', (g) => (g.initializers[6].dtype = 'I32')],
    ['isParameter', (g) => (g.initializers[4].isParameter = true)],
    ['an input dtype', (g) => (g.inputs[0].dtype = 'F16')],
    ['an input shape', (g) => (g.inputs[0].shape[2] = 16)],
    ['the node order', (g) => g.nodes.push(g.nodes.shift()!)],
    ['an extra node', (g) => g.nodes.push(op('Relu', ['logits'], ['extra']))],
  ])('changes with %s', (_what, mutate) => {
    const g = tinyCnn();
    mutate(g);
    expect(graphContentHash(g)).not.toBe(tiny);
  });

  it('writes canonical JSON with sorted keys and spelled-out non-finite numbers', () => {
    expect(canonicalJson({ b: [1, Infinity, Number.NaN], a: { d: 'x', c: -Infinity } })).toBe(
      '{"a":{"c":"-Infinity","d":"x"},"b":[1,"Infinity","NaN"]}',
    );
  });
});
