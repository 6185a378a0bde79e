import { readFileSync } from 'node:fs';
import { fixturesDir } from '../testing/fixtures';
import { summarizeGraph } from './graph-summary';
import { op, tinyCnn } from './testing-graphs';
import { buildZooModel } from './zoo';

/**
 * torchvision's published "GFLOPS" (weights metadata `_ops`), which count multiply-accumulates of
 * convolutions and matrix products, at the weights' evaluation size.
 */
const TORCHVISION_GMACS: [string, number, number?][] = [
  ['resnet18', 1.814],
  ['resnet50', 4.089],
  ['mobilenet_v2', 0.301],
  ['vit_b_16', 17.564],
  ['alexnet', 0.714],
  ['squeezenet1_0', 0.819],
  ['densenet121', 2.834],
  ['efficientnet_b0', 0.386],
  ['convnext_tiny', 4.456],
  ['inception_v3', 5.713, 299],
  ['mobilenet_v3_large', 0.217],
  ['regnet_y_400mf', 0.402],
  ['efficientnet_v2_s', 8.366, 384],
];

describe('summarizeGraph', () => {
  it.each(TORCHVISION_GMACS)('counts the MACs of %s within 2%% of torchvision (%f G)', (name, gmacs, size = 224) => {
    const s = summarizeGraph(buildZooModel(name), { inputShape: [1, 3, size, size] });
    expect(Math.abs(s.macs / 1e9 / gmacs - 1)).toBeLessThan(0.02);
    expect(s.flopsUnknownNodes).toBe(0);
    // 2 FLOPs per MAC plus a few percent of elementwise work.
    expect(s.flops / (2 * s.macs)).toBeGreaterThan(1);
    expect(s.flops / (2 * s.macs)).toBeLessThan(1.1);
  });

  it('gives resnet50 about 8.2 GFLOPs and the counts of its state_dict', () => {
    const s = summarizeGraph(buildZooModel('resnet50'));
    expect(s.flops).toBeGreaterThan(8.1e9);
    expect(s.flops).toBeLessThan(8.3e9);
    const fixture = JSON.parse(readFileSync(fixturesDir('arch', 'torchvision_models.json'), 'utf8')).models.resnet50;
    expect(s.parameterCount).toBe(fixture.num_params);
    const buffers = (fixture.state_dict as [string, number[], string, boolean][]).filter((e) => !e[3]);
    expect(s.bufferCount).toBe(buffers.reduce((n, e) => n + e[1].reduce((p, d) => p * d, 1), 0));
    expect(s.initializerCount).toBe(fixture.state_dict.length);
    expect(s.opHistogram).toMatchObject({ Conv: 53, BatchNormalization: 53, Gemm: 1, MaxPool: 1 });
    expect(Object.keys(s.opHistogram)).toEqual(Object.keys(s.opHistogram).sort());
    expect(s.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: [1, 3, 224, 224] }]);
    expect(s.outputs).toEqual([{ name: 'logits', dtype: 'F32', shape: [1, 1000] }]);
    // Initializers count too: layer4's 512 x 512 x 3 x 3 convolution weights outgrow every activation.
    expect(s.largestValue?.elements).toBe(512 * 512 * 3 * 3);
  });

  it('scales with the batch of inputShape', () => {
    const g = buildZooModel('resnet18');
    const one = summarizeGraph(g);
    const four = summarizeGraph(g, { inputShape: [4, 3, 224, 224] });
    expect(four.macs).toBe(4 * one.macs);
    expect(four.outputs[0].shape).toEqual([4, 1000]);
  });

  it('follows the documented convention on a tiny CNN', () => {
    const s = summarizeGraph(tinyCnn());
    const convMacs = 4 * 8 * 8 * (3 * 3 * 3);
    const fcMacs = 2 * 4;
    expect(s.macs).toBe(convMacs + fcMacs);
    // conv bias + BN + Relu (256 each) + global pool (256 inputs) + fc bias (2); Flatten is free.
    expect(s.flops).toBe(2 * (convMacs + fcMacs) + 256 * 4 + 2);
    expect(s).toMatchObject({ parameterCount: 108 + 4 + 8 + 8 + 2, bufferCount: 4 + 4 + 1, initializerCount: 9, nodeCount: 6 });
  });

  it('skips and counts the nodes whose shapes cannot be inferred', () => {
    const g = tinyCnn();
    g.valueInfo = undefined;
    // The Conv input now comes through a Reshape whose target shape is not a constant.
    g.nodes.unshift(op('Reshape', ['input', 'input'], ['reshaped']));
    g.nodes[1].inputs[0] = 'reshaped';
    const s = summarizeGraph(g);
    expect(s.macs).toBe(0);
    // Conv, BatchNormalization, Relu, GlobalAveragePool, Gemm (the Reshape and Flatten move data only).
    expect(s.flopsUnknownNodes).toBe(5);
  });
});
