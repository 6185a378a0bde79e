import { readFileSync } from 'node:fs';
import { parseGhnConfig } from '../../core/ghn';
import { fixturesDir } from '../../core/testing/fixtures';
import type { ManifestEntry } from '../checkpoints/checkpoint.types';
import { ServiceError } from '../../core/service-error';
import { checkGhnTensors, chooseGhnConfig, hasTopLevelCentrality, toGhnConfigDocument } from './ghn-config-document';

const CONFIGS = ['ghn3_h32_l3', 'ghn2mode_h32', 'ppuda_ghn2_h32'];

interface FixtureGhn {
  impl: string;
  graph_builder: string;
  ctor_config: Record<string, unknown>;
  state_dict: [string, number[], string][];
}

const fixture = (cfg: string): FixtureGhn => JSON.parse(readFileSync(fixturesDir('ghn', 'ghn', `${cfg}.json`), 'utf8'));

/** The fixture's tensors as a checkpoint manifest (offsets do not matter here). */
function manifest(cfg: string): ManifestEntry[] {
  return fixture(cfg).state_dict.map(([name, shape]) => ({ name, shape, dtype: 'F32', byteOffset: 0, byteLength: 0 }));
}

function refusal(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error('expected a ServiceError');
}

describe('GHN config documents', () => {
  it.each(CONFIGS)('writes %s back in the fixture layout, and reads back the same config', (cfg) => {
    const { impl, graph_builder, ctor_config } = fixture(cfg);
    const config = parseGhnConfig(fixture(cfg));
    const doc = toGhnConfigDocument(config, false);
    expect(doc).toEqual({ impl, graph_builder, ctor_config });
    expect(parseGhnConfig(doc)).toEqual(config);
  });

  it('prefers the config field, then the checkpoint metadata (object or JSON text), then the tensors', () => {
    const tensors = manifest('ghn3_h32_l3');
    const ghn2 = JSON.stringify(fixture('ghn2mode_h32'));
    expect(chooseGhnConfig(ghn2, { config: fixture('ghn3_h32_l3').ctor_config }, tensors)).toMatchObject({ origin: 'field', config: { isGhn2: true } });
    expect(chooseGhnConfig(undefined, { config: fixture('ghn2mode_h32').ctor_config }, tensors)).toMatchObject({ origin: 'checkpoint', config: { isGhn2: true } });
    expect(chooseGhnConfig('  ', { config: JSON.stringify(fixture('ppuda_ghn2_h32').ctor_config) }, tensors)).toMatchObject({ origin: 'checkpoint', config: { impl: 'ppuda' } });
    const inferred = chooseGhnConfig(undefined, { epoch: 3 }, tensors);
    expect(inferred).toEqual({ origin: 'inferred', config: parseGhnConfig(fixture('ghn3_h32_l3')) });
  });

  it('tells malformed JSON (400) from an unusable config (422)', () => {
    expect(refusal(() => chooseGhnConfig('{"hid":', {}, []))).toMatchObject({ code: 'INVALID_FIELD', details: { field: 'config' } });
    expect(refusal(() => chooseGhnConfig('[1, 2]', {}, []))).toMatchObject({ code: 'INVALID_FIELD' });
    const unusable = refusal(() => chooseGhnConfig('{"hid": 32}', {}, []));
    expect([unusable.code, unusable.message]).toEqual(['GHN_INVALID', expect.stringMatching(/^the `config` field is not a usable GHN config: invalid GHN config: max_shape/)]);
    const foreign = refusal(() => chooseGhnConfig(undefined, { config: { lr: 0.1 } }, []));
    expect([foreign.code, foreign.message]).toEqual(['GHN_INVALID', expect.stringMatching(/^the checkpoint's own `config` entry is not a usable GHN config/)]);
  });

  it.each(CONFIGS)("accepts exactly %s's tensors for its config", (cfg) => {
    expect(() => checkGhnTensors(manifest(cfg), parseGhnConfig(fixture(cfg)), 'field')).not.toThrow();
  });

  it('accepts the pretrained layout (centrality embeddings at the top level) and records it', () => {
    const pretrained = manifest('ghn3_h32_l3').map((t) => ({ ...t, name: t.name.replace(/^gnn\.0\.(centrality_embed_in|centrality_embed_out|input_dist_embed)\./, '$1.') }));
    const { config, origin } = chooseGhnConfig(undefined, {}, pretrained);
    expect(() => checkGhnTensors(pretrained, config, origin)).not.toThrow();
    expect(hasTopLevelCentrality(pretrained)).toBe(true);
    expect(toGhnConfigDocument(config, true).ctor_config.pretrained).toBe(true);
  });

  it('names what is missing, unexpected, of another shape or not floating point', () => {
    const tensors = manifest('ghn3_h32_l3')
      .filter((t) => t.name !== 'ln.bias')
      .map((t) => (t.name === 'embed.weight' ? { ...t, dtype: 'I64' as const } : t.name === 'decoder.fc.0.bias' ? { ...t, shape: [7] } : t));
    tensors.push({ name: 'extra.weight', dtype: 'F32', shape: [1], byteOffset: 0, byteLength: 0 });
    const e = refusal(() => checkGhnTensors(tensors, parseGhnConfig(fixture('ghn3_h32_l3')), 'inferred'));
    expect(e.code).toBe('GHN_INVALID');
    expect(e.message).toBe(
      'the tensors do not match the inferred GHN config (impl ghn3, GHN-3, 3 layers, 8 heads, hid 32, max_shape 32x32x16x16, 1000 classes): ' +
        "1 missing ('ln.bias'); 1 unexpected ('extra.weight'); 1 of another shape ('decoder.fc.0.bias' is [7], expected [32768]); 1 not floating point ('embed.weight' is I64)",
    );
    expect(e.details).toMatchObject({ configOrigin: 'inferred', missing: ['ln.bias'], unexpected: ['extra.weight'] });
  });
});
