import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { isCoreError } from '../errors';
import { openCheckpoint } from '../formats/open-checkpoint';
import { withFileSource } from '../io/random-access';
import { fixturesDir } from '../testing/fixtures';
import { loadGhnFromTensorSet, type Ghn } from './ghn';
import { predictParameters } from './predict-parameters';
import { fixtureGraph, GHN3_H32_L3_CONFIG, loadFixtureGhn } from './testing-ghn-fixtures';

const ARCHS = ['tiny_cnn', 'vit_tiny', 'mobilenet_v3_mini'];

async function loadFile(path: string): Promise<Ghn> {
  return withFileSource(path, async (source) => loadGhnFromTensorSet(await openCheckpoint(source, { filename: path })));
}

function predictAll(ghn: Ghn): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const arch of ARCHS) {
    const p = predictParameters(ghn, fixtureGraph('ghn3', arch), { seed: 3 });
    for (const [k, t] of p.params) out.set(`${arch}/${k}`, t.dataSync() as Float32Array);
    tf.dispose([...p.params.values()]);
  }
  return out;
}

describe('loading a GHN from each PyTorch checkpoint layout', () => {
  let reference: Map<string, Float32Array>;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const ghn = await loadFixtureGhn('ghn3_h32_l3');
    reference = predictAll(ghn);
    ghn.dispose();
  });

  it.each(['joblib', 'torchsave', 'state_dict'])('%s predicts exactly what the safetensors GHN predicts', async (layout) => {
    const before = tf.memory().numTensors;
    const ghn = await loadFile(fixturesDir('checkpoint-formats', `ghn3_h32_l3.${layout}.pt`));
    try {
      // joblib and state_dict files carry no config (inferred from the keys); torchsave stores one.
      expect(ghn.config).toEqual(GHN3_H32_L3_CONFIG);
      const got = predictAll(ghn);
      expect([...got.keys()]).toEqual([...reference.keys()]);
      for (const [k, v] of got) expect(Buffer.from(v.buffer).equals(Buffer.from((reference.get(k) as Float32Array).buffer))).toBe(true);
    } finally {
      ghn.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('infers the config of every fixture GHN from its safetensors keys', async () => {
    const ghn3 = await loadFile(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors'));
    const ghn2 = await loadFile(fixturesDir('ghn', 'ghn', 'ghn2mode_h32.safetensors'));
    // A ppuda checkpoint without its config is run as ghn3's from_pretrained runs it: GHN-2 mode,
    // 4-D 1×1 decoder weights squeezed, S from the spatial table (9 rows → 11).
    const ppuda = await loadFile(fixturesDir('ghn', 'ghn', 'ppuda_ghn2_h32.safetensors'));
    try {
      expect(ghn3.config).toEqual(GHN3_H32_L3_CONFIG);
      expect(ghn2.config).toEqual({ ...GHN3_H32_L3_CONFIG, maxShape: [64, 64, 16, 16], layers: 0, isGhn2: true });
      expect(ppuda.config).toEqual({ ...GHN3_H32_L3_CONFIG, maxShape: [64, 64, 11, 11], layers: 0, isGhn2: true });
      expect(ghn3.numParameters).toBe(1540464);
      expect(ghn2.numParameters).toBe(2319720);
      expect(ppuda.numParameters).toBe(1749464);
    } finally {
      [ghn3, ghn2, ppuda].forEach((g) => g.dispose());
    }
  });

  it('refuses a malicious pickle before building anything', async () => {
    const before = tf.memory().numTensors;
    let caught: unknown;
    try {
      await loadFile(fixturesDir('checkpoint-formats', 'malicious.pkl.pt'));
    } catch (e) {
      caught = e;
    }
    expect(isCoreError(caught) && caught.code).toBe('PICKLE_FORBIDDEN_GLOBAL');
    expect(tf.memory().numTensors).toBe(before);
  });
});
