import { initializationCacheKey, normalizeOptions } from './initialization-request';

const ARCH = '11111111-1111-4111-8111-111111111111';

describe('normalizeOptions', () => {
  it('fills seed 0 and the fresh BatchNorm policy', () => {
    expect(normalizeOptions({ architectureId: ARCH, method: 'ghn' })).toEqual({ seed: 0, batchNorm: 'fresh' });
    expect(normalizeOptions({ architectureId: ARCH, method: 'kaiming', seed: 9 })).toEqual({ seed: 9, batchNorm: 'fresh' });
  });

  it('refuses a GHN for another method, bad seeds and unknown policies', () => {
    const fails = (input: object) => expect(() => normalizeOptions({ architectureId: ARCH, method: 'kaiming', ...input })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    fails({ ghnId: ARCH });
    fails({ seed: -1 });
    fails({ seed: 0.5 });
    fails({ batchNorm: 'recalibrate' });
    fails({ method: 'xavier' });
  });
});

describe('initializationCacheKey', () => {
  const base = { architectureHash: 'a'.repeat(64), ghnWeightsSha256: 'b'.repeat(64), ghnConfig: { impl: 'ghn3', graph_builder: 'ghn3', ctor_config: { hid: 32, layers: 3 } }, method: 'ghn' as const, options: { seed: 0, batchNorm: 'fresh' as const } };

  it('is the same for the same inputs, whatever the key order of the config', () => {
    const reordered = { ...base, ghnConfig: { ctor_config: { layers: 3, hid: 32 }, graph_builder: 'ghn3', impl: 'ghn3' } };
    expect(initializationCacheKey(reordered)).toBe(initializationCacheKey(base));
    expect(initializationCacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the architecture, the GHN weights or config, the method and the options', () => {
    const key = initializationCacheKey(base);
    for (const changed of [
      { architectureHash: 'c'.repeat(64) },
      { ghnWeightsSha256: 'd'.repeat(64) },
      { ghnConfig: { ...base.ghnConfig, impl: 'ppuda' } },
      { method: 'kaiming' as const, ghnWeightsSha256: null, ghnConfig: null },
      { options: { seed: 1, batchNorm: 'fresh' as const } },
    ]) {
      expect(initializationCacheKey({ ...base, ...changed })).not.toBe(key);
    }
  });
});
