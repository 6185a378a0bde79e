import { buildGhnGraph, isParameterOp } from '../ghn';
import type { ArchitectureGraph } from '../ir';
import { buildZooModel } from './zoo';

/**
 * The CIFAR-style models against hand-derived formulas: parameter counts (weights of every 3×3 and
 * 1×1 convolution, two per BatchNorm channel, the classifier with its bias), state_dict names and
 * the feature-map sizes of each stage.
 */

const conv = (cin: number, cout: number, k: number): number => cin * cout * k * k;
const bn = (c: number): number => 2 * c;

/** CIFAR ResNet-(6n+2) with projection shortcuts (1×1 conv + BatchNorm) where the shape changes. */
function cifarResnetParams(n: number, inChannels: number, classes: number): number {
  let total = conv(inChannels, 16, 3) + bn(16);
  let cin = 16;
  for (const w of [16, 32, 64]) {
    for (let i = 0; i < n; i++) {
      total += conv(cin, w, 3) + bn(w) + conv(w, w, 3) + bn(w);
      if (cin !== w) total += conv(cin, w, 1) + bn(w);
      cin = w;
    }
  }
  return total + 64 * classes + classes;
}

/** Wide ResNet depth-k: pre-activation blocks, bias-free 1×1 conv shortcuts, a final BatchNorm. */
function wideResnetParams(depth: number, k: number, inChannels: number, classes: number): number {
  let total = conv(inChannels, 16, 3);
  let cin = 16;
  for (const w of [16 * k, 32 * k, 64 * k]) {
    for (let i = 0; i < (depth - 4) / 6; i++) {
      total += bn(cin) + conv(cin, w, 3) + bn(w) + conv(w, w, 3);
      if (cin !== w) total += conv(cin, w, 1);
      cin = w;
    }
  }
  return total + bn(cin) + cin * classes + classes;
}

const params = (g: ArchitectureGraph): number =>
  g.initializers.filter((i) => i.isParameter).reduce((s, i) => s + i.shape.reduce((p, d) => p * d, 1), 0);
const shapeOf = (g: ArchitectureGraph, name: string): (number | string)[] | undefined =>
  [...g.initializers, ...(g.valueInfo ?? []), ...g.outputs].find((v) => v.name === name)?.shape;
const ops = (g: ArchitectureGraph, opType: string): number => g.nodes.filter((n) => n.opType === opType).length;

describe('CIFAR-style zoo models', () => {
  it('have the hand-computed parameter counts', () => {
    // Option A (zero-padded identity shortcuts) would give resnet20 269,722 and resnet56 853,018:
    // the two projections cost 16·32 + 2·32 + 32·64 + 2·64 = 2,752 parameters.
    expect(cifarResnetParams(3, 3, 10)).toBe(272_474);
    expect(cifarResnetParams(9, 3, 10)).toBe(855_770);
    expect(wideResnetParams(16, 4, 3, 10)).toBe(2_748_890);
    for (const [inChannels, numClasses] of [
      [3, 10],
      [1, 10],
      [1, 100],
    ]) {
      const opts = { inChannels, numClasses };
      expect(params(buildZooModel('resnet20', opts))).toBe(cifarResnetParams(3, inChannels, numClasses));
      expect(params(buildZooModel('resnet56', opts))).toBe(cifarResnetParams(9, inChannels, numClasses));
      expect(params(buildZooModel('wrn16_4', opts))).toBe(wideResnetParams(16, 4, inChannels, numClasses));
    }
  });

  it('resnet20 has the torchvision-style state_dict names and 3×3 / stride-2 stages', () => {
    const g = buildZooModel('resnet20', { inChannels: 1, imageSize: 28 });
    const names = g.initializers.map((i) => i.name);
    expect(names.slice(0, 6)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked']);
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(shapeOf(g, 'conv1.weight')).toEqual([16, 1, 3, 3]);
    expect(shapeOf(g, 'layer1.2.conv2.weight')).toEqual([16, 16, 3, 3]);
    expect(shapeOf(g, 'layer2.0.conv1.weight')).toEqual([32, 16, 3, 3]);
    expect(shapeOf(g, 'layer2.0.downsample.0.weight')).toEqual([32, 16, 1, 1]);
    expect(shapeOf(g, 'layer2.0.downsample.1.running_var')).toEqual([32]);
    expect(shapeOf(g, 'layer3.0.downsample.0.weight')).toEqual([64, 32, 1, 1]);
    expect(shapeOf(g, 'fc.weight')).toEqual([10, 64]);
    expect(names.filter((n) => n.includes('downsample') && n.endsWith('.weight'))).toEqual([
      'layer2.0.downsample.0.weight',
      'layer2.0.downsample.1.weight',
      'layer3.0.downsample.0.weight',
      'layer3.0.downsample.1.weight',
    ]);
    expect(names.some((n) => n.startsWith('layer4'))).toBe(false);
    // 28 → 28 → 14 → 7, then a global average.
    expect(shapeOf(g, '/layer1/layer1.2/relu_1/Relu_output_0')).toEqual(['batch', 16, 28, 28]);
    expect(shapeOf(g, '/layer2/layer2.2/relu_1/Relu_output_0')).toEqual(['batch', 32, 14, 14]);
    expect(shapeOf(g, '/layer3/layer3.2/relu_1/Relu_output_0')).toEqual(['batch', 64, 7, 7]);
    expect([ops(g, 'Conv'), ops(g, 'BatchNormalization'), ops(g, 'MaxPool'), ops(g, 'Gemm'), ops(g, 'Add')]).toEqual([21, 21, 0, 1, 9]);
    expect(g.outputs[0].shape).toEqual(['batch', 10]);
  });

  it('resnet56 has nine blocks per stage', () => {
    const g = buildZooModel('resnet56');
    expect(g.initializers.some((i) => i.name === 'layer3.8.bn2.weight')).toBe(true);
    expect(g.initializers.some((i) => i.name === 'layer3.9.conv1.weight')).toBe(false);
    expect([ops(g, 'Conv'), ops(g, 'Add')]).toEqual([57, 27]);
  });

  it('wrn16_4 has pre-activation blocks of widths 64/128/256 and a final BatchNorm', () => {
    const g = buildZooModel('wrn16_4', { numClasses: 100 });
    const names = g.initializers.filter((i) => i.isParameter).map((i) => i.name);
    expect(names.slice(0, 8)).toEqual([
      'conv1.weight',
      'layer1.0.bn1.weight',
      'layer1.0.bn1.bias',
      'layer1.0.conv1.weight',
      'layer1.0.bn2.weight',
      'layer1.0.bn2.bias',
      'layer1.0.conv2.weight',
      'layer1.0.shortcut.weight',
    ]);
    expect(names.slice(-4)).toEqual(['bn1.weight', 'bn1.bias', 'fc.weight', 'fc.bias']);
    expect(shapeOf(g, 'layer1.0.bn1.weight')).toEqual([16]);
    expect(shapeOf(g, 'layer1.0.shortcut.weight')).toEqual([64, 16, 1, 1]);
    expect(shapeOf(g, 'layer2.0.shortcut.weight')).toEqual([128, 64, 1, 1]);
    expect(shapeOf(g, 'layer3.1.conv2.weight')).toEqual([256, 256, 3, 3]);
    expect(shapeOf(g, 'fc.weight')).toEqual([100, 256]);
    expect(names.filter((n) => n.endsWith('shortcut.weight'))).toHaveLength(3);
    // Pre-activation: each block starts with BatchNorm → ReLU; the stem conv feeds layer1.0.bn1.
    const first = g.nodes.findIndex((n) => n.name === '/layer1/layer1.0/bn1/BatchNormalization');
    expect(g.nodes[first].inputs[0]).toBe(g.nodes[0].outputs[0]);
    expect(g.nodes[first + 1].opType).toBe('Relu');
    // The projection reads the activated input; the identity shortcut reads the block input.
    const relu0 = g.nodes[first + 1].outputs[0];
    expect(g.nodes.find((n) => n.name === '/layer1/layer1.0/shortcut/Conv')?.inputs[0]).toBe(relu0);
    const add1 = g.nodes.find((n) => n.name === '/layer1/layer1.1/Add');
    expect(add1?.inputs[1]).toBe(g.nodes.find((n) => n.name === '/layer1/layer1.0/Add')?.outputs[0]);
    expect([ops(g, 'Conv'), ops(g, 'BatchNormalization'), ops(g, 'Add')]).toEqual([16, 13, 6]);
    expect(shapeOf(g, '/layer3/layer3.1/Add_output_0')).toEqual(['batch', 256, 8, 8]);
  });

  it.each(['resnet20', 'resnet56', 'wrn16_4'])('%s builds GHN graphs for both builders', (name) => {
    const g = buildZooModel(name, { inChannels: 1, imageSize: 28 });
    for (const builder of ['ghn3', 'ppuda'] as const) {
      const ghn = buildGhnGraph(g, { builder });
      // One node per weight (BatchNorm biases ride with their weight), one per residual sum.
      const predicted = ghn.nodes.filter((n) => isParameterOp(n.op)).map((n) => n.name);
      const weights = g.initializers.filter((i) => i.isParameter && (!i.name.endsWith('.bias') || i.name === 'fc.bias'));
      expect(predicted.sort()).toEqual(weights.map((i) => i.name).sort());
      expect(ghn.nodes.find((n) => n.name === 'conv1.weight')?.shape).toEqual([16, 1, 3, 3]);
      expect(ghn.nodes.filter((n) => n.op === 'sum')).toHaveLength(ops(g, 'Add'));
      expect(ghn.nodes.filter((n) => n.op === 'glob_avg')).toHaveLength(1);
      expect(ghn.expectedInputSz).toEqual([1, 28, 28]);
    }
  });
});
