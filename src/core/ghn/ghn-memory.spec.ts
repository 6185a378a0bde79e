import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { GhnGraph } from '../graph/ghn/ghn-graph';
import type { Ghn } from './ghn';
import { predictParameters } from './predict-parameters';
import { fixtureGraph, GHN_FIXTURE_CONFIGS, loadFixtureGhn } from './testing-ghn-fixtures';

/** Tensor hygiene: predicting and disposing the outputs leaves the tfjs engine as it was. */
describe('GHN tensor hygiene', () => {
  const ghns: Ghn[] = [];
  const graphs: GhnGraph[] = [];
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    for (const c of GHN_FIXTURE_CONFIGS) ghns.push(await loadFixtureGhn(c));
    // GHN-3, GatedGNN, ppuda decoder, ViT row, bilinear resize, and a failing ppuda run.
    graphs.push(fixtureGraph('ghn3', 'vit_p32'), fixtureGraph('ghn3', 'tiny_cnn'), fixtureGraph('ppuda', 'tiny_cnn'));
  });
  afterAll(() => ghns.forEach((g) => g.dispose()));

  it('100 predictions leave tf.memory().numTensors and numBytes unchanged', () => {
    const outcomes = { ok: 0, failed: 0 };
    const run = (i: number): void => {
      const ghn = ghns[i % ghns.length];
      const graph = graphs[Math.floor(i / ghns.length) % graphs.length];
      try {
        const p = predictParameters(ghn, graph, { returnInternals: i % 2 === 0 });
        tf.dispose([...p.params.values(), ...(p.internals?.values() ?? [])]);
        outcomes.ok++;
      } catch (e) {
        expect((e as { code?: string }).code).toBe('GHN_UNSUPPORTED');
        outcomes.failed++;
      }
    };
    // One pass over every GHN and graph first: each GHN keeps the decoder column subsets it derives.
    for (let i = 0; i < ghns.length * graphs.length; i++) run(i);
    const before = tf.memory();
    for (let i = 0; i < 100; i++) run(i);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(outcomes.ok).toBeGreaterThan(50);
    expect(outcomes.failed).toBeGreaterThan(5);
  }, 60_000);

  it('dispose frees the weights and the derived decoder columns', async () => {
    const before = tf.memory().numTensors;
    const ghn = await loadFixtureGhn('ghn3_h32_l3');
    const p = predictParameters(ghn, graphs[1]);
    tf.dispose([...p.params.values()]);
    expect(ghn.weights.derived.size).toBeGreaterThan(0);
    ghn.dispose();
    expect(ghn.weights.derived.size).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
