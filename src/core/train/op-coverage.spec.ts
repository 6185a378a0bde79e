import { buildZooModel, zooNames } from '../graph/zoo';
import type { ArchitectureGraph } from '../graph/ir';
import { opCoverage } from './op-coverage';

describe('opCoverage', () => {
  const zoo = opCoverage(zooNames().map((name) => buildZooModel(name, { numClasses: 10 })));
  const use = (op: string) => zoo.find((u) => u.opType === op);

  it('finds every zoo op trainable', () => {
    expect(zoo.filter((u) => !u.trainable).map((u) => u.opType)).toEqual([]);
    expect(zoo.length).toBeGreaterThan(30);
  });

  it('reports the attribute variants that matter for training', () => {
    expect(use('Conv')?.attributes).toEqual(expect.arrayContaining(['group=depthwise', 'group=grouped']));
    expect(use('Conv')?.models).toContain('mobilenet_v2');
    expect(use('MaxPool')?.attributes).toContain('ceil_mode=1');
    expect(use('AveragePool')?.attributes).toContain('count_include_pad=1');
    expect(use('LayerNormalization')?.models).toEqual(expect.arrayContaining(['convnext_tiny', 'vit_b_16']));
  });

  it('marks an op without a training op untrainable', () => {
    const graph: ArchitectureGraph = {
      name: 'g',
      opset: 17,
      inputs: [{ name: 'x', dtype: 'F32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'F32', shape: [1, 4] }],
      initializers: [],
      nodes: [{ name: 'n', opType: 'Resize', inputs: ['x'], outputs: ['y'], attributes: { mode: 'nearest' } }],
    };
    expect(opCoverage([graph])).toEqual([{ opType: 'Resize', trainable: false, models: ['g'], attributes: ['mode=nearest'] }]);
  });
});
