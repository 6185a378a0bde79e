import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreError } from '../../errors';
import { fixturesDir } from '../../testing/fixtures';
import { parseGhnGraphJson, toGhnGraphJson, type GhnGraphJson } from './ghn-graph-json';

const GRAPHS = fixturesDir('ghn', 'graphs');

function readFixture(builder: string, arch: string): GhnGraphJson {
  return JSON.parse(readFileSync(join(GRAPHS, builder, `${arch}.json`), 'utf8'));
}

function expectInvalid(json: unknown, message: RegExp): void {
  let error: unknown;
  try {
    parseGhnGraphJson(json);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CoreError);
  expect((error as CoreError).code).toBe('INVALID_ARGUMENT');
  expect((error as CoreError).message).toMatch(message);
}

describe('GHN graph JSON round trip', () => {
  for (const builder of ['ghn3', 'ppuda']) {
    const archs = readdirSync(join(GRAPHS, builder)).filter((f) => f.endsWith('.json'));
    it(`has ${builder} fixture graphs`, () => expect(archs.length).toBeGreaterThanOrEqual(9));
    for (const file of archs) {
      it(`round-trips ${builder}/${file}`, () => {
        const raw = JSON.parse(readFileSync(join(GRAPHS, builder, file), 'utf8'));
        const parsed = parseGhnGraphJson(raw);
        expect(parsed.nodes).toHaveLength(raw.n_nodes);
        expect(parsed.edges).toHaveLength(raw.edges.length);
        expect(toGhnGraphJson(parsed)).toEqual(raw);
        expect(parseGhnGraphJson(JSON.stringify(toGhnGraphJson(parsed)))).toEqual(parsed);
      });
    }
  }
});

describe('parseGhnGraphJson validation', () => {
  const valid = (): GhnGraphJson => readFixture('ghn3', 'tiny_cnn');

  it('accepts the minimal fields (derived ones omitted)', () => {
    const { arch, builder, ve_cutoff, expected_input_sz, nodes, edges } = valid();
    const g = parseGhnGraphJson({ arch, builder, ve_cutoff, expected_input_sz, nodes, edges });
    expect(toGhnGraphJson(g).in_degree_1hop).toEqual(valid().in_degree_1hop);
    expect(toGhnGraphJson(g).input_dist).toEqual(valid().input_dist);
  });

  it('rejects text that is not JSON, and non-objects', () => {
    expectInvalid('{"arch": ', /not JSON/);
    expectInvalid([], /must be an object/);
  });

  it('rejects an unknown builder or op', () => {
    expectInvalid({ ...valid(), builder: 'ghn9' }, /builder/);
    const j = valid();
    j.nodes[3].op = 'batchnorm';
    expectInvalid(j, /nodes\[3\]\.op/);
  });

  it('rejects inconsistent node fields', () => {
    let j = valid();
    j.nodes[2].op_index = 4;
    expectInvalid(j, /nodes\[2\]\.op_index/);
    j = valid();
    j.nodes[1].shape = null;
    expectInvalid(j, /nodes\[1\]\.shape is required/);
    j = valid();
    j.nodes[5].index = 6;
    expectInvalid(j, /nodes\[5\]\.index/);
    j = valid();
    j.nodes[1].shape = [12, -3, 3, 3];
    expectInvalid(j, /nodes\[1\]\.shape\[1\]/);
  });

  it('requires the input node first, once', () => {
    const j = valid();
    [j.nodes[0], j.nodes[1]] = [j.nodes[1], j.nodes[0]];
    expectInvalid({ ...j, nodes: j.nodes.map((n, i) => ({ ...n, index: i })) }, /nodes\[0\] must be the 'input' node/);
  });

  it('rejects malformed, out-of-range and inconsistent edges', () => {
    expectInvalid({ ...valid(), edges: [[0, 1]] }, /edges\[0\] must be/);
    expectInvalid({ ...valid(), edges: [[0, 99, 1]] }, /out of range/);
    expectInvalid({ ...valid(), edges: [[1, 1, 1]] }, /self-loop/);
    expectInvalid({ ...valid(), edges: [[0, 1, 51]] }, /distance must be within 1..50/);
    const dropped = valid();
    dropped.edges.splice(3, 1); // a virtual edge goes missing
    expectInvalid(dropped, /edges\[3\] expected \[0,4,4\]/);
    const wrongDistance = valid();
    wrongDistance.edges[1] = [0, 2, 3];
    expectInvalid(wrongDistance, /edges\[1\]/);
  });

  it('rejects graphs beyond the node limit', () => {
    const j = valid();
    expectInvalid({ ...j, nodes: Array.from({ length: 20_001 }, () => j.nodes[1]) }, /more than 20000 nodes/);
  });

  it('rejects derived fields that disagree with nodes and edges', () => {
    expectInvalid({ ...valid(), n_nodes: 17 }, /n_nodes disagrees/);
    const j = valid();
    j.input_dist[5] = 9;
    expectInvalid(j, /input_dist disagrees/);
  });
});
