import { readFileSync } from 'node:fs';
import { parseGhnGraphJson } from '../../core/graph/ghn';
import { fixturesDir } from '../../core/testing/fixtures';
import { ServiceError } from '../../core/service-error';
import { toGraphJson } from '../../core/graph/graph-json';
import { tinyCnn } from '../../core/graph/testing-graphs';
import { draftFromGhnGraphJson, draftFromGraphJson, draftFromUpload, draftFromZoo, ghnGraphContentHash, requireExactlyOneSource } from './architecture-drafts';

const ghnFixture = (builder: string, arch: string): Record<string, unknown> =>
  JSON.parse(readFileSync(fixturesDir('ghn', 'graphs', builder, `${arch}.json`), 'utf8'));

describe('architecture drafts', () => {
  it('identifies a GHN graph by its nodes and edges, not its names', () => {
    const json = ghnFixture('ghn3', 'tiny_cnn');
    const base = ghnGraphContentHash(parseGhnGraphJson(json));
    const nodes = (json.nodes as { name: string; op: string }[]).map((n) => (n.op === 'sum' ? { ...n, name: 'Renamed' } : n));
    expect(ghnGraphContentHash(parseGhnGraphJson({ ...json, arch: 'other', nodes }))).toBe(base);
    expect(ghnGraphContentHash(parseGhnGraphJson(ghnFixture('ppuda', 'tiny_cnn')))).not.toBe(base);
    const renamedParam = (json.nodes as { name: string; op: string }[]).map((n) => (n.op === 'conv' ? { ...n, name: `${n.name}.x` } : n));
    expect(ghnGraphContentHash(parseGhnGraphJson({ ...json, nodes: renamedParam }))).not.toBe(base);
  });

  it('summarises a GHN-graph-only architecture without cost figures', () => {
    const draft = draftFromGhnGraphJson(ghnFixture('ghn3', 'tiny_mlp'));
    expect(draft).toMatchObject({ name: 'tiny_mlp', source: 'ghn-graph', executable: false, graph: null });
    expect(draft.summary).toMatchObject({ parameterCount: null, macs: null, nodeCount: 8, opHistogram: { input: 1, conv: 3, bias: 3, ln: 1 } });
    expect(draft.summary.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 64] }]);
  });

  it('refuses a graph whose inferred values could never be allocated, even when its declared ones can', () => {
    const graph = toGraphJson(tinyCnn());
    expect(draftFromGraphJson(graph).summary.parameterCount).toBeGreaterThan(0);
    // The input holds 1.9e9 elements (under 2^31 - 1); the 4-channel convolution's output 2.5e9.
    const wide = { ...graph, inputs: [{ name: 'input', dtype: 'F32' as const, shape: ['batch', 3, 25_000, 25_000] }], valueInfo: [] };
    expect(() => draftFromGraphJson(wide)).toThrow(
      expect.objectContaining({ code: 'GRAPH_INVALID', message: expect.stringMatching(/has 2500000000 elements at batch size 1, more than 2147483647/) }),
    );
  });

  it('tells JSON uploads (even with a byte-order mark) from ONNX', () => {
    const json = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0x0a]), readFileSync(fixturesDir('ghn', 'graphs', 'ppuda', 'tiny_mlp.json'))]);
    expect(draftFromUpload(json, undefined, 'tiny.json')).toMatchObject({ source: 'ghn-graph', name: 'tiny' });
    const onnx = draftFromUpload(readFileSync(fixturesDir('arch', 'onnx', 'squeezenet1_0.onnx')), 'squeeze', 'x.onnx');
    expect(onnx).toMatchObject({ source: 'onnx', name: 'squeeze', modelClass: 'SqueezeNet', summary: { parameterCount: 1248424 } });
    expect(() => draftFromUpload(Buffer.from('{"format": "weightsmith.graph/v1"'), undefined, 'g.json')).toThrow(expect.objectContaining({ code: 'GRAPH_INVALID' }));
  });

  it('keys a zoo model by its arguments, not its display name', () => {
    const a = draftFromZoo('resnet18', {}, 'mine');
    expect(a).toMatchObject({ name: 'mine', family: 'resnet', source: 'zoo', summary: { parameterCount: 11689512 } });
    expect(draftFromZoo('resnet18', {}).contentHash).toBe(a.contentHash);
    expect(draftFromZoo('resnet18', { numClasses: 10 }).contentHash).not.toBe(a.contentHash);
    expect(draftFromZoo('resnet18', { inChannels: 1 }).contentHash).not.toBe(a.contentHash);
  });

  it('builds a CIFAR-style ResNet for grayscale 28×28 images', () => {
    const draft = draftFromZoo('resnet20', { inChannels: 1, imageSize: 28 });
    expect(draft).toMatchObject({ name: 'resnet20', family: 'resnet_cifar', modelClass: 'CifarResNet', summary: { parameterCount: 272474 - 2 * 144 } });
    expect(draft.summary.inputs).toEqual([{ name: 'input', dtype: 'F32', shape: ['batch', 1, 28, 28] }]);
    expect(draft.summary.outputs).toEqual([expect.objectContaining({ shape: ['batch', 10] })]);
    expect(() => draftFromZoo('wrn16_4', { inChannels: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('wants exactly one source, and zoo arguments only with zoo', () => {
    expect(() => requireExactlyOneSource({})).toThrow(ServiceError);
    expect(() => requireExactlyOneSource({ zoo: 'a', graph: {} })).toThrow(ServiceError);
    expect(() => requireExactlyOneSource({ graph: {}, imageSize: 32 })).toThrow(ServiceError);
    expect(() => requireExactlyOneSource({ zoo: 'a', imageSize: 32 })).not.toThrow();
    expect(() => requireExactlyOneSource({ graph: {}, inChannels: 1 })).toThrow(ServiceError);
    expect(() => requireExactlyOneSource({ zoo: 'a', inChannels: 1 })).not.toThrow();
  });
});
