import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { Ghn } from './ghn';
import { paramShapesFromGraph } from './param-matching';
import { predictParameters } from './predict-parameters';
import { fixtureGraph, loadFixtureGhn, readJson, type RunJson } from './testing-ghn-fixtures';

const dataOf = (m: Map<string, tf.Tensor>): Record<string, number[]> =>
  Object.fromEntries([...m].map(([k, t]) => [k, Array.from(t.dataSync())]));

describe('predictParameters options', () => {
  let ghn: Ghn;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    ghn = await loadFixtureGhn('ghn3_h32_l3');
  });
  afterAll(() => ghn.dispose());

  it('derives the target shapes from the graph when none are given (ViT: s²+1 tokens, norm biases)', () => {
    const graph = fixtureGraph('ghn3', 'vit_tiny');
    const run = readJson<RunJson>('runs', 'ghn3_h32_l3', 'vit_tiny.json');
    const derived = paramShapesFromGraph(graph);
    expect(Object.fromEntries(derived)).toEqual(Object.fromEntries(run.predicted.map((n) => [n, run.param_stats[n].shape])));
    const a = predictParameters(ghn, graph, { seed: 1 });
    const b = predictParameters(ghn, graph, { seed: 1, paramShapes: Object.fromEntries(derived) });
    expect(a.internals).toBeUndefined();
    expect(dataOf(a.params)).toEqual(dataOf(b.params));
    tf.dispose([...a.params.values(), ...b.params.values()]);
  });

  it('leaves the classification layer alone with predictClassLayers: false', () => {
    const graph = fixtureGraph('ghn3', 'tiny_cnn');
    const all = predictParameters(ghn, graph);
    const some = predictParameters(ghn, graph, { predictClassLayers: false });
    expect([...all.params.keys()].filter((k) => !some.params.has(k))).toEqual(['fc.weight', 'fc.bias']);
    const expected = dataOf(all.params);
    delete expected['fc.weight'];
    delete expected['fc.bias'];
    expect(dataOf(some.params)).toEqual(expected);
    tf.dispose([...all.params.values(), ...some.params.values()]);
  });

  it('predicts only the parameters it is given, and reports the rest of them as not predicted', () => {
    const graph = fixtureGraph('ghn3', 'tiny_cnn');
    const p = predictParameters(ghn, graph, { paramShapes: { 'conv1.weight': [12, 3, 3, 3], 'bn1.weight': [12], 'extra.scale': [4] } });
    expect([...p.params.keys()]).toEqual(['conv1.weight', 'bn1.weight']);
    expect(p.notPredicted).toEqual(['extra.scale']);
    tf.dispose([...p.params.values()]);
  });
});
