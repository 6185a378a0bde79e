import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import { fixturesDir } from '../../testing/fixtures';
import type { ArchitectureGraph, AttributeValue } from '../ir';
import { buildZooModel } from './zoo';

/**
 * The zoo against torchvision itself: state_dict entries from `arch/torchvision_models.json` and
 * the TorchScript ONNX exports in `arch/onnx/`. Node names, op types, attributes and wiring must
 * equal the export; only Constant/Identity nodes are compared by value instead of by name.
 */

interface FixtureModel {
  state_dict: [string, number[], string, boolean][];
  num_params: number;
}

const fixture = JSON.parse(readFileSync(fixturesDir('arch', 'torchvision_models.json'), 'utf8')) as {
  models: Record<string, FixtureModel>;
};
const MODELS = Object.keys(fixture.models);
const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64' };
const ONNX_DTYPES: Record<number, string> = { 1: 'F32', 6: 'I32', 7: 'I64', 9: 'BOOL', 11: 'F64' };

type Num = number | { toString(): string };
const num = (v: Num): number => (typeof v === 'number' ? v : Number(v.toString()));

function tensorValues(t: onnx.ITensorProto): number[] {
  const raw = t.rawData && t.rawData.length ? Buffer.from(t.rawData) : null;
  if (t.dataType === 7) {
    if (!raw) return (t.int64Data ?? []).map(num);
    const out: number[] = [];
    for (let k = 0; k < raw.length; k += 8) out.push(Number(raw.readBigInt64LE(k)));
    return out;
  }
  if (t.dataType === 1) {
    if (!raw) return [...(t.floatData ?? [])];
    const out: number[] = [];
    for (let k = 0; k < raw.length; k += 4) out.push(raw.readFloatLE(k));
    return out;
  }
  throw new Error(`unexpected constant dtype ${t.dataType}`);
}

function attributeValue(a: onnx.IAttributeProto): AttributeValue {
  switch (a.type) {
    case onnx.AttributeProto.AttributeType.FLOAT:
      return a.f as number;
    case onnx.AttributeProto.AttributeType.INT:
      return num(a.i as Num);
    case onnx.AttributeProto.AttributeType.STRING:
      return Buffer.from(a.s as Uint8Array).toString();
    case onnx.AttributeProto.AttributeType.TENSOR: {
      const t = a.t as onnx.ITensorProto;
      return { dtype: ONNX_DTYPES[t.dataType as number] as never, shape: (t.dims ?? []).map(num), values: tensorValues(t) };
    }
    case onnx.AttributeProto.AttributeType.FLOATS:
      return [...(a.floats ?? [])];
    case onnx.AttributeProto.AttributeType.INTS:
      return (a.ints ?? []).map(num);
    default:
      throw new Error(`unexpected attribute type ${a.type}`);
  }
}

interface PlainNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

function loadOnnx(model: string): { nodes: PlainNode[]; initializers: string[] } {
  const m = onnx.ModelProto.decode(readFileSync(fixturesDir('arch', 'onnx', `${model}.onnx`)));
  const g = m.graph as onnx.IGraphProto;
  const nodes = (g.node ?? []).map((n) => ({
    name: n.name as string,
    opType: n.opType as string,
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name as string, attributeValue(a)])),
  }));
  return { nodes, initializers: (g.initializer ?? []).map((t) => t.name as string) };
}

/** Non-Constant, non-Identity nodes; inputs made by Constants are replaced by their value. */
function canonical(nodes: PlainNode[]): PlainNode[] {
  const alias = new Map<string, string>();
  for (const n of nodes) {
    if (n.opType === 'Constant') alias.set(n.outputs[0], `const:${JSON.stringify(n.attributes.value)}`);
    if (n.opType === 'Identity') alias.set(n.outputs[0], alias.get(n.inputs[0]) ?? n.inputs[0]);
  }
  return nodes
    .filter((n) => n.opType !== 'Constant' && n.opType !== 'Identity')
    .map((n) => ({ ...n, inputs: n.inputs.map((i) => alias.get(i) ?? i) }));
}

/** initializer name → "OpType#inputIndex" for every Conv/Gemm/BatchNormalization/LayerNormalization use. */
function weightUses(nodes: PlainNode[], initializers: Set<string>): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const n of nodes) {
    if (!['Conv', 'Gemm', 'BatchNormalization', 'LayerNormalization'].includes(n.opType)) continue;
    n.inputs.forEach((i, k) => {
      if (initializers.has(i)) uses.set(i, [...(uses.get(i) ?? []), `${n.opType}#${k}`]);
    });
  }
  return uses;
}

describe('zoo against torchvision fixtures', () => {
  it('covers the 13 fixture models', () => {
    expect(MODELS.sort()).toEqual(
      [
        'alexnet', 'convnext_tiny', 'densenet121', 'efficientnet_b0', 'mobilenet_v2', 'mobilenet_v3_large',
        'mobilenet_v3_small', 'resnet18', 'resnet50', 'resnext50_32x4d', 'squeezenet1_0', 'vgg11_bn', 'vit_b_16',
      ].sort(),
    );
  });

  describe.each(MODELS)('%s', (model) => {
    let graph: ArchitectureGraph;
    beforeAll(() => {
      graph = buildZooModel(model);
    });

    it('has the state_dict entries of torchvision, in order', () => {
      const expected = fixture.models[model].state_dict.map(([name, shape, dtype, isParameter]) => ({
        name,
        shape,
        dtype: DTYPES[dtype],
        isParameter,
      }));
      expect(graph.initializers).toEqual(expected);
      const params = graph.initializers.filter((i) => i.isParameter).reduce((s, i) => s + i.shape.reduce((p, d) => p * d, 1), 0);
      expect(params).toBe(fixture.models[model].num_params);
    });

    it('has the nodes of the TorchScript ONNX export', () => {
      const reference = loadOnnx(model);
      const mine = canonical(graph.nodes);
      const theirs = canonical(reference.nodes);
      expect(mine.map((n) => n.opType)).toEqual(theirs.map((n) => n.opType));
      expect(mine).toEqual(theirs);
      const names = new Set(reference.initializers);
      expect(weightUses(graph.nodes, names)).toEqual(weightUses(reference.nodes, names));
    });

    it('has the graph input and output of the export', () => {
      expect(graph.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 3, 224, 224] }]);
      expect(graph.outputs).toEqual([{ name: 'logits', dtype: 'F32', shape: ['batch', 1000] }]);
    });
  });
});
