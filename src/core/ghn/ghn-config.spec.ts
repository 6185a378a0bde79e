import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { isCoreError } from '../errors';
import { fixturesDir } from '../testing/fixtures';
import { loadGhn } from './ghn';
import { inferGhnConfig, parseGhnConfig, type GhnConfig } from './ghn-config';
import { expectedGhnKeys } from './ghn-weights';
import { predictParameters } from './predict-parameters';
import { fixtureGraph, GHN3_H32_L3_CONFIG, readJson, readSafetensorsAsTf } from './testing-ghn-fixtures';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isCoreError(e) ? e.code : `not a CoreError: ${String(e)}`;
  }
  return undefined;
}

const base = GHN3_H32_L3_CONFIG;

describe('GHN configs', () => {
  it('reads the fixtures config files (impl, graph_builder, ctor_config)', () => {
    expect(parseGhnConfig(readJson('ghn', 'ghn3_h32_l3.json'))).toEqual(base);
    expect(parseGhnConfig(readJson('ghn', 'ghn2mode_h32.json'))).toEqual({ ...base, maxShape: [64, 64, 16, 16], layers: 0, isGhn2: true });
    expect(parseGhnConfig(readJson('ghn', 'ppuda_ghn2_h32.json'))).toEqual({
      ...base,
      impl: 'ppuda',
      graphBuilder: 'ppuda',
      maxShape: [64, 64, 11, 11],
      layers: 0,
      isGhn2: true,
    });
  });

  it('reads bare constructor configs: ghn3 ones, and ppuda ones (hypernet/decoder keys) with ppuda defaults', () => {
    const ctor = readJson<{ ctor_config: unknown }>('ghn', 'ghn3_h32_l3.json').ctor_config;
    expect(parseGhnConfig(ctor)).toEqual(base);
    const ppuda = parseGhnConfig({ max_shape: [64, 64, 11, 11], num_classes: 10, hypernet: 'gatedgnn', decoder: 'conv', hid: 32 });
    expect(ppuda).toMatchObject({ impl: 'ppuda', graphBuilder: 'ppuda', isGhn2: true, weightNorm: false, ve: false, layernorm: false });
    expect(parseGhnConfig(ppuda)).toEqual(ppuda);
  });

  it('rejects invalid configs and unsupported variants', () => {
    expect(codeOf(() => parseGhnConfig('x'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseGhnConfig({ impl: 'x', ctor_config: {} }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseGhnConfig({ hid: 30, max_shape: [8, 8, 3, 3], num_classes: 10 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseGhnConfig({ hid: 32, max_shape: [8, 8, 3, 5], num_classes: 10 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseGhnConfig({ hid: 32, max_shape: [8, 8, 3, 3], num_classes: 10, layers: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseGhnConfig({ hid: 32, max_shape: [8, 8, 3, 3], num_classes: 10, hypernet: 'mlp' }))).toBe('GHN_UNSUPPORTED');
  });

  it('infers the ghn3tm8 layout from key shapes (as ghn3 from_pretrained does)', () => {
    const tm8: GhnConfig = { ...base, hid: 64, maxShape: [64, 64, 16, 16] };
    const keys = expectedGhnKeys(tm8);
    expect(inferGhnConfig(keys)).toEqual(tm8);
    // The parameter count of the ghn3tm8 layout: 6,906,632 (C = 1000, H = 64, L = 3, 8 heads).
    expect([...keys.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)).toBe(6906632);
  });
});

describe('loadGhn', () => {
  let tensors: Map<string, tf.Tensor>;
  const config = (): unknown => readJson('ghn', 'ghn3_h32_l3.json');
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    tensors = await readSafetensorsAsTf(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors'));
  });
  afterAll(() => tf.dispose([...tensors.values()]));

  const without = (key: string): Map<string, tf.Tensor> => new Map([...tensors].filter(([k]) => k !== key));

  it('names the missing, misshapen or unexpected key', () => {
    expect(codeOf(() => loadGhn(without('gnn.2.ff.net.3.bias'), config()))).toBe('TENSOR_NOT_FOUND');
    const bad = without('embed.weight');
    const wrong = tf.zeros([14, 32]);
    bad.set('embed.weight', wrong);
    expect(codeOf(() => loadGhn(bad, config()))).toBe('INVALID_ARGUMENT');
    const extra = new Map(tensors);
    extra.set('gnn.3.ln1.weight', wrong);
    expect(codeOf(() => loadGhn(extra, config()))).toBe('INVALID_ARGUMENT');
    wrong.dispose();
  });

  it('owns its weights (the caller may dispose its tensors) and accepts top-level centrality keys', () => {
    const copy = new Map([...tensors].map(([k, t]) => [k.replace(/^gnn\.0\.(centrality_embed_in|centrality_embed_out|input_dist_embed)/, '$1'), t.clone()]));
    expect(copy.has('centrality_embed_in.weight')).toBe(true);
    const moved = loadGhn(copy, config());
    tf.dispose([...copy.values()]);
    const original = loadGhn(tensors, config());
    const graph = fixtureGraph('ghn3', 'tiny_cnn');
    const a = predictParameters(moved, graph);
    const b = predictParameters(original, graph);
    for (const [k, t] of a.params) expect(Array.from(t.dataSync())).toEqual(Array.from(b.params.get(k)?.dataSync() ?? []));
    tf.dispose([...a.params.values(), ...b.params.values()]);
    moved.dispose();
    original.dispose();
    expect(codeOf(() => predictParameters(moved, graph))).toBe('INVALID_ARGUMENT');
  });
});
