import { CoreError } from '../../errors';
import type { ArchitectureGraph } from '../ir';
import { buildZooModel, zooFamily, zooNames } from './zoo';

/**
 * Parameter counts published in torchvision's weight metadata (`num_params`), which the state
 * dicts of the default-argument builders reproduce. Two are derived and marked.
 */
const PUBLISHED_PARAMS: Record<string, number> = {
  alexnet: 61_100_840,
  convnext_tiny: 28_589_128,
  convnext_small: 50_223_688,
  convnext_base: 88_591_464,
  convnext_large: 197_767_336,
  densenet121: 7_978_856,
  densenet161: 28_681_000,
  densenet169: 14_149_480,
  densenet201: 20_013_928,
  efficientnet_b0: 5_288_548,
  efficientnet_b1: 7_794_184,
  efficientnet_b2: 9_109_994,
  efficientnet_b3: 12_233_232,
  efficientnet_b4: 19_341_616,
  efficientnet_b5: 30_389_784,
  efficientnet_b6: 43_040_704,
  efficientnet_b7: 66_347_960,
  efficientnet_v2_s: 21_458_488,
  efficientnet_v2_m: 54_139_356,
  efficientnet_v2_l: 118_515_272,
  googlenet: 6_624_904,
  // 27,161,264 published with the auxiliary head; minus AuxLogits (98,560 + 2,459,136 + 769,000).
  inception_v3: 23_834_568,
  mnasnet0_5: 2_218_512,
  mnasnet0_75: 3_170_208,
  mnasnet1_0: 4_383_312,
  mnasnet1_3: 6_282_256,
  mobilenet_v2: 3_504_872,
  mobilenet_v3_large: 5_483_032,
  mobilenet_v3_small: 2_542_856,
  regnet_x_400mf: 5_495_976,
  regnet_x_800mf: 7_259_656,
  regnet_x_1_6gf: 9_190_136,
  regnet_x_3_2gf: 15_296_552,
  regnet_x_8gf: 39_572_648,
  regnet_x_16gf: 54_278_536,
  regnet_x_32gf: 107_811_560,
  regnet_y_400mf: 4_344_144,
  regnet_y_800mf: 6_432_512,
  regnet_y_1_6gf: 11_202_430,
  regnet_y_3_2gf: 19_436_338,
  regnet_y_8gf: 39_381_472,
  regnet_y_16gf: 83_590_140,
  regnet_y_32gf: 145_046_770,
  regnet_y_128gf: 644_812_894,
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  resnext50_32x4d: 25_028_904,
  resnext101_32x8d: 88_791_336,
  resnext101_64x4d: 83_455_272,
  shufflenet_v2_x0_5: 1_366_792,
  shufflenet_v2_x1_0: 2_278_604,
  shufflenet_v2_x1_5: 3_503_624,
  shufflenet_v2_x2_0: 7_393_996,
  squeezenet1_0: 1_248_424,
  squeezenet1_1: 1_235_496,
  vgg11: 132_863_336,
  vgg11_bn: 132_868_840,
  vgg13: 133_047_848,
  vgg13_bn: 133_053_736,
  vgg16: 138_357_544,
  vgg16_bn: 138_365_992,
  vgg19: 143_667_240,
  vgg19_bn: 143_678_248,
  vit_b_16: 86_567_656,
  vit_b_32: 88_224_232,
  vit_l_16: 304_326_632,
  vit_l_32: 306_535_400,
  // Published 633,470,440 is at 518 px; at the builder's default 224 px the position embedding
  // has 257 instead of 1370 rows (1113 · 1280 fewer).
  vit_h_14: 632_045_800,
  wide_resnet50_2: 68_883_240,
  wide_resnet101_2: 126_886_696,
};

/** The CIFAR-style models (not torchvision's); their counts are derived in `cifar.spec.ts`. */
const CIFAR_PARAMS: Record<string, number> = { resnet20: 272_474, resnet56: 855_770, wrn16_4: 2_748_890 };

function parameterCount(g: ArchitectureGraph): number {
  return g.initializers.filter((i) => i.isParameter).reduce((s, i) => s + i.shape.reduce((p, d) => p * d, 1), 0);
}

/** Every node input exists before use; names are unique; every non-counter initializer is used. */
function expectWellFormed(g: ArchitectureGraph): void {
  const known = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.map((i) => i.name)]);
  const used = new Set<string>();
  const nodeNames = new Set<string>();
  for (const node of g.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !known.has(input)) throw new Error(`${g.name}: ${node.name} reads ${input} before it exists`);
      used.add(input);
    }
    if (nodeNames.has(node.name)) throw new Error(`${g.name}: duplicate node ${node.name}`);
    nodeNames.add(node.name);
    for (const output of node.outputs) {
      if (known.has(output)) throw new Error(`${g.name}: ${output} written twice`);
      known.add(output);
    }
  }
  for (const out of g.outputs) expect(known.has(out.name)).toBe(true);
  const unused = g.initializers.filter((i) => !used.has(i.name) && !i.name.endsWith('num_batches_tracked'));
  expect(unused.map((i) => i.name)).toEqual([]);
  // The GHN builder needs BatchNorm input ranks: all torchvision BatchNorms are 2-D (rank-4 inputs).
  const shapes = new Map((g.valueInfo ?? []).map((v) => [v.name, v.shape]));
  const batchNorms = g.nodes.filter((n) => n.opType === 'BatchNormalization');
  expect(batchNorms.filter((n) => shapes.get(n.inputs[0])?.length !== 4).map((n) => n.name)).toEqual([]);
}

/** Static shape checks of the ops whose operands must agree (catches wrong channels or strides). */
function shapeErrors(g: ArchitectureGraph): string[] {
  const shapes = new Map<string, (number | string)[]>();
  for (const v of [...g.inputs, ...g.outputs, ...g.initializers, ...(g.valueInfo ?? [])]) shapes.set(v.name, v.shape);
  const errors: string[] = [];
  const check = (ok: boolean, node: string): void => {
    if (!ok) errors.push(node);
  };
  for (const n of g.nodes) {
    const [a, b] = n.inputs.map((i) => shapes.get(i) ?? []);
    const out = shapes.get(n.outputs[0]) ?? [];
    switch (n.opType) {
      case 'Add':
      case 'Mul': {
        const rank = Math.max(a.length, b.length);
        for (let k = 1; k <= rank; k++) {
          const [x, y] = [a[a.length - k] ?? 1, b[b.length - k] ?? 1];
          check(x === y || x === 1 || y === 1, n.name);
        }
        break;
      }
      case 'Concat': {
        const axis = n.attributes.axis as number;
        const parts = n.inputs.map((i) => shapes.get(i) ?? []);
        for (const p of parts) check(p.every((d, k) => k === axis || d === parts[0][k]), n.name);
        break;
      }
      case 'Conv':
        check(a[1] === (b[1] as number) * (n.attributes.group as number), n.name);
        break;
      case 'Gemm':
        check(a[1] === b[1] && out[1] === b[0], n.name);
        break;
      case 'MatMul':
        check(a[a.length - 1] === b[b.length - 2], n.name);
        break;
      case 'BatchNormalization':
      case 'LayerNormalization':
        check((n.opType === 'BatchNormalization' ? a[1] : a[a.length - 1]) === b[0], n.name);
        break;
    }
  }
  return errors;
}

describe('zoo', () => {
  it('lists every builder name once, sorted, with a known parameter count', () => {
    const names = zooNames();
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([...Object.keys(PUBLISHED_PARAMS), ...Object.keys(CIFAR_PARAMS)].sort());
    expect(names).toHaveLength(76);
  });

  it.each(Object.entries(PUBLISHED_PARAMS))('%s has %d parameters and a well-formed graph', (name, count) => {
    const g = buildZooModel(name);
    expect(parameterCount(g)).toBe(count);
    expectWellFormed(g);
    expect(shapeErrors(g)).toEqual([]);
    expect(g.name).toBe(name);
    expect(g.opset).toBe(17);
    expect(g.outputs).toEqual([{ name: 'logits', dtype: 'F32', shape: ['batch', 1000] }]);
    const size = name === 'inception_v3' ? 299 : 224;
    expect(g.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 3, size, size] }]);
  });

  it.each(Object.entries(CIFAR_PARAMS))('%s has %d parameters and a well-formed 32 px, 10-class graph', (name, count) => {
    const g = buildZooModel(name);
    expect(parameterCount(g)).toBe(count);
    expectWellFormed(g);
    expect(shapeErrors(g)).toEqual([]);
    expect(g.outputs).toEqual([{ name: 'logits', dtype: 'F32', shape: ['batch', 10] }]);
    expect(g.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 3, 32, 32] }]);
  });

  it('takes any number of input channels, changing only the stem weight', () => {
    for (const name of zooNames()) {
      const rgb = buildZooModel(name);
      const gray = buildZooModel(name, { inChannels: 1 });
      expect(gray.inputs[0].shape).toEqual(['batch', 1, ...rgb.inputs[0].shape.slice(2)]);
      const changed = gray.initializers.filter((t, k) => JSON.stringify(t) !== JSON.stringify(rgb.initializers[k]));
      expect({ name, changed: changed.map((t) => t.shape[1]) }).toEqual({ name, changed: [1] });
      expect(gray.nodes).toEqual(rgb.nodes);
      expect(shapeErrors(gray)).toEqual([]);
    }
  });

  it('names families and model classes', () => {
    expect(zooFamily('resnext50_32x4d')).toBe('resnet');
    expect(zooFamily('efficientnet_v2_s')).toBe('efficientnet');
    expect(buildZooModel('vit_b_32').modelClass).toBe('VisionTransformer');
    expect(buildZooModel('squeezenet1_1').modelClass).toBe('SqueezeNet');
    expect(buildZooModel('regnet_y_400mf').modelClass).toBe('RegNet');
    expect([zooFamily('resnet20'), zooFamily('resnet56'), zooFamily('wrn16_4')]).toEqual(['resnet_cifar', 'resnet_cifar', 'resnet_cifar']);
    expect([buildZooModel('resnet56').modelClass, buildZooModel('wrn16_4').modelClass]).toEqual(['CifarResNet', 'WideResNet']);
  });

  it('rejects unknown models with ZOO_UNKNOWN_MODEL', () => {
    for (const call of [() => buildZooModel('resnet19'), () => zooFamily('')]) {
      expect(call).toThrow(CoreError);
      try {
        call();
      } catch (e) {
        expect((e as CoreError).code).toBe('ZOO_UNKNOWN_MODEL');
      }
    }
  });

  it('resizes the classifier and the input', () => {
    const g = buildZooModel('resnet18', { numClasses: 10, imageSize: 64 });
    expect(g.initializers.find((i) => i.name === 'fc.weight')?.shape).toEqual([10, 512]);
    expect(g.outputs[0].shape).toEqual(['batch', 10]);
    expect(g.inputs[0].shape).toEqual(['batch', 3, 64, 64]);
    const vit = buildZooModel('vit_b_16', { imageSize: 384 });
    expect(vit.initializers.find((i) => i.name === 'encoder.pos_embedding')?.shape).toEqual([1, 577, 768]);
    expectWellFormed(vit);
  });

  it('rejects options the architecture cannot take', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as CoreError).code;
      }
      return undefined;
    };
    expect(code(() => buildZooModel('resnet18', { numClasses: 0 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => buildZooModel('resnet18', { imageSize: 1.5 }))).toBe('INVALID_ARGUMENT');
    for (const inChannels of [0, -1, 2.5, Number.NaN, 1025]) {
      expect(code(() => buildZooModel('resnet20', { inChannels }))).toBe('INVALID_ARGUMENT');
    }
    expect(code(() => buildZooModel('vit_b_16', { imageSize: 200 }))).toBe('INVALID_ARGUMENT');
    // AlexNet's adaptive pool to 6x6 exports only from a multiple of 6 (5x5 features at 200 px).
    expect(code(() => buildZooModel('alexnet', { imageSize: 200 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => buildZooModel('squeezenet1_0', { imageSize: 8 }))).toBe('INVALID_ARGUMENT');
  });

  it('builds the same graph twice', () => {
    expect(buildZooModel('mobilenet_v3_small')).toEqual(buildZooModel('mobilenet_v3_small'));
  });

  it('keeps nested torch.cat calls of Inception v3 as separate Concat nodes', () => {
    const g = buildZooModel('inception_v3');
    const concats = g.nodes.filter((n) => n.opType === 'Concat');
    // 3 InceptionA + B + 4 InceptionC + D + 2 InceptionE × 3 concats.
    expect(concats).toHaveLength(3 + 1 + 4 + 1 + 2 * 3);
  });
});
