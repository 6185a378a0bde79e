import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../testing/fixtures';
import { importOnnxGraph } from '../onnx-import';
import { buildGhnGraph } from './build-ghn-graph';
import type { GhnBuilderName, GhnGraph } from './ghn-graph';
import { ghnGraphsEqual } from './ghn-graph-equal';
import { parseGhnGraphJson } from './ghn-graph-json';

const GHN = fixturesDir('ghn');
const ARCH_ONNX = fixturesDir('arch', 'onnx');
const BUILDERS: GhnBuilderName[] = ['ghn3', 'ppuda'];

/** Every ONNX export of an architecture: the GHN runs' small models (all configs) and the torchvision ones. */
function onnxSources(arch: string): string[] {
  const runs = readdirSync(join(GHN, 'runs')).map((cfg) => join(GHN, 'runs', cfg, `${arch}.onnx`));
  return [...runs, join(ARCH_ONNX, `${arch}.onnx`)].filter((p) => existsSync(p));
}

function fixtureGraph(builder: GhnBuilderName, arch: string): GhnGraph {
  return parseGhnGraphJson(JSON.parse(readFileSync(join(GHN, 'graphs', builder, `${arch}.json`), 'utf8')));
}

function fixtureArchs(builder: GhnBuilderName): string[] {
  return readdirSync(join(GHN, 'graphs', builder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Node identity and edges in fixture order: the official order is reproduced index for index. */
function orderedSignature(g: GhnGraph): string[] {
  const nodes = g.nodes.map((n, i) => `${i} ${n.op} ${n.moduleType === null ? '' : n.name} ${JSON.stringify(n.shape)}`);
  return [...nodes, ...g.edges.map((e) => e.join(','))];
}

describe('buildGhnGraph against the official graphs (fixtures/ghn/graphs)', () => {
  for (const builder of BUILDERS) {
    const archs = fixtureArchs(builder);
    it(`has ${builder} fixtures to check`, () => {
      expect(archs.length).toBeGreaterThanOrEqual(builder === 'ghn3' ? 12 : 9);
    });
    for (const arch of archs) {
      describe(`${builder}/${arch}`, () => {
        const expected = fixtureGraph(builder, arch);
        const sources = onnxSources(arch);
        it('has an ONNX export to build from', () => {
          expect(sources.length).toBeGreaterThan(0);
        });
        for (const source of sources) {
          const label = source.split('/').slice(-2).join('/');
          it(`builds the same graph from ${label}`, () => {
            const built = buildGhnGraph(importOnnxGraph(readFileSync(source)), { builder, veCutoff: expected.veCutoff });
            const comparison = ghnGraphsEqual(built, expected);
            expect(comparison.differences).toEqual([]);
            expect(comparison.equal).toBe(true);
            expect(orderedSignature(built)).toEqual(orderedSignature(expected));
            expect(built.nodes.map((n) => n.info)).toEqual(expected.nodes.map((n) => n.info));
            expect(built.nodes.map((n) => n.moduleType)).toEqual(expected.nodes.map((n) => n.moduleType));
            expect(built.expectedInputSz).toEqual(expected.expectedInputSz);
          });
        }
      });
    }
  }
});

describe('buildGhnGraph speed (printed, not asserted)', () => {
  it('builds vit_b_16 and resnet50 graphs', () => {
    const lines: string[] = [];
    for (const model of ['vit_b_16', 'resnet50']) {
      const graph = importOnnxGraph(readFileSync(join(ARCH_ONNX, `${model}.onnx`)));
      const times: number[] = [];
      for (let rep = 0; rep < 5; rep++) {
        const start = performance.now();
        const g = buildGhnGraph(graph, { builder: 'ghn3' });
        times.push(performance.now() - start);
        expect(g.nodes.length).toBeGreaterThan(100);
      }
      lines.push(`${model}: first ${times[0].toFixed(1)} ms, best of 5 ${Math.min(...times).toFixed(1)} ms (target < 200 ms)`);
    }
    console.log(`GHN graph build (ghn3):\n  ${lines.join('\n  ')}`);
  });
});
