import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreError } from '../errors';
import { encodeOnnxModel, readOnnxModel, type OnnxModel } from '../formats/onnx/onnx-codec';
import { fixturesDir } from '../testing/fixtures';
import type { ConstantTensor, GraphNode } from './ir';
import { importOnnxGraph } from './onnx-import';

const ARCH_ONNX = fixturesDir('arch', 'onnx');
const TORCHVISION: { models: Record<string, { state_dict: [string, number[], string, boolean][] }> } = JSON.parse(
  readFileSync(fixturesDir('arch', 'torchvision_models.json'), 'utf8'),
);
const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64' };

function load(path: string): Uint8Array {
  return readFileSync(path);
}

describe('importOnnxGraph on the torchvision exports', () => {
  const models = readdirSync(ARCH_ONNX).filter((f) => f.endsWith('.onnx'));
  it('has models to import', () => expect(models.length).toBeGreaterThanOrEqual(10));

  for (const file of models) {
    const model = file.slice(0, -'.onnx'.length);
    it(`${model}: initializers are the state_dict entries, isParameter by the default rule (no trainable list)`, () => {
      const g = importOnnxGraph(load(join(ARCH_ONNX, file)));
      const expected = TORCHVISION.models[model].state_dict.filter(([name]) => !name.endsWith('num_batches_tracked'));
      expect(g.initializers.map((i) => [i.name, i.shape, i.dtype, i.isParameter])).toEqual(
        expected.map(([name, shape, dtype, isParameter]) => [name, shape, DTYPES[dtype], isParameter]),
      );
      expect(g.opset).toBe(17);
      expect(g.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 3, 224, 224] }]);
      expect(g.outputs.map((o) => o.name)).toEqual(['logits']);
      expect(new Set(g.nodes.map((n) => n.name)).size).toBe(g.nodes.length);
    });
  }

  it('recognises the classes the GHN builders special-case', () => {
    const cls = (m: string): string | undefined => importOnnxGraph(load(join(ARCH_ONNX, `${m}.onnx`))).modelClass;
    expect(cls('vit_b_16')).toBe('VisionTransformer');
    expect(cls('squeezenet1_0')).toBe('SqueezeNet');
    expect(cls('resnet18')).toBeUndefined();
    expect(importOnnxGraph(load(join(ARCH_ONNX, 'resnet18.onnx')), { modelClass: 'ResNet' }).modelClass).toBe('ResNet');
  });

  it('keeps op types, inputs, outputs and attributes', () => {
    const g = importOnnxGraph(load(join(ARCH_ONNX, 'resnet18.onnx')), { name: 'resnet18' });
    expect(g.name).toBe('resnet18');
    const conv = g.nodes[0];
    expect(conv.opType).toBe('Conv');
    expect(conv.inputs).toEqual(['input', 'conv1.weight']);
    expect(conv.attributes).toMatchObject({ group: 1, kernel_shape: [7, 7], pads: [3, 3, 3, 3], strides: [2, 2], dilations: [1, 1] });
    const bn = g.nodes.find((n) => n.opType === 'BatchNormalization') as GraphNode;
    expect(bn.inputs.slice(1)).toEqual(['bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
    expect(bn.attributes.epsilon as number).toBeCloseTo(1e-5, 10);
    const gemm = g.nodes.find((n) => n.opType === 'Gemm') as GraphNode;
    expect(gemm.attributes).toMatchObject({ alpha: 1, beta: 1, transB: 1 });
    expect(gemm.outputs).toEqual(['logits']);
  });

  it('decodes Constant tensors (the GELU constants of ConvNeXt)', () => {
    const g = importOnnxGraph(load(join(ARCH_ONNX, 'convnext_tiny.onnx')));
    const byOutput = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const div = g.nodes.find((n) => n.opType === 'Div') as GraphNode;
    const value = (byOutput.get(div.inputs[1]) as GraphNode).attributes.value as ConstantTensor;
    expect(value.shape).toEqual([]);
    expect(value.values).toHaveLength(1);
    expect(value.values[0]).toBeCloseTo(Math.SQRT2, 6);
  });
});

describe('importOnnxGraph details', () => {
  const effnet = (): Uint8Array => load(fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'efficientnet_mini.onnx'));

  it('turns the exporter de-duplication Identity(initializer) into aliased initializers', () => {
    const bytes = effnet();
    const model = readOnnxModel(bytes);
    const identities = (model.graph?.node ?? []).filter((n) => n.opType === 'Identity');
    expect(identities.length).toBeGreaterThan(0);
    const g = importOnnxGraph(bytes);
    expect(g.nodes.some((n) => n.opType === 'Identity')).toBe(false);
    for (const n of identities) {
      const alias = g.initializers.find((i) => i.name === n.output?.[0]);
      const original = g.initializers.find((i) => i.name === n.input?.[0]);
      expect(alias).toEqual({ ...original, name: n.output?.[0], aliasOf: n.input?.[0] });
    }
    // Every value a node reads is an initializer, a graph input or an earlier node's output.
    const known = new Set([...g.initializers.map((i) => i.name), ...g.inputs.map((i) => i.name)]);
    for (const n of g.nodes) {
      for (const v of n.inputs) if (v) expect(known.has(v)).toBe(true);
      n.outputs.forEach((o) => known.add(o));
    }
  });

  it('accepts a decoded model and a trainable-name list', () => {
    const model = readOnnxModel(effnet());
    const g = importOnnxGraph(model, { trainableNames: ['features.0.0.weight'] });
    expect(g.initializers.filter((i) => i.isParameter).map((i) => i.name)).toEqual(['features.0.0.weight']);
  });

  it('reads symbolic, unknown and zero dimensions of graph inputs', () => {
    const model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, {}, { dimValue: 0 }, { dimValue: 7 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [] } } } }],
        node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
      },
    } as unknown as OnnxModel;
    const g = importOnnxGraph(encodeOnnxModel(model));
    expect(g.inputs).toEqual([{ name: 'x', dtype: 'F32', shape: ['batch', '?', 0, 7] }]);
    expect(g.nodes).toEqual([{ name: 'Relu_0', opType: 'Relu', inputs: ['x'], outputs: ['y'], attributes: {} }]);
  });

  it('wraps malformed bytes in CoreError ONNX_INVALID', () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    expect(() => importOnnxGraph(garbage)).toThrow(CoreError);
    try {
      importOnnxGraph(garbage);
    } catch (e) {
      expect((e as CoreError).code).toBe('ONNX_INVALID');
    }
    const truncated = effnet().subarray(0, 1000);
    expect(() => importOnnxGraph(truncated)).toThrow(expect.objectContaining({ code: 'ONNX_INVALID' }));
  });
});
