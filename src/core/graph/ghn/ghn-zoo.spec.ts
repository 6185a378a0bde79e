import { readFileSync } from 'node:fs';
import { fixturesDir } from '../../testing/fixtures';
import { buildZooModel } from '../zoo/zoo';
import { buildGhnGraph } from './build-ghn-graph';
import type { GhnBuilderName } from './ghn-graph';
import { ghnGraphsEqual } from './ghn-graph-equal';
import { parseGhnGraphJson } from './ghn-graph-json';

/** The zoo emits the exporter's op vocabulary, so its GHN graphs equal the official ones too. */
describe('GHN graphs of zoo models equal the official graphs', () => {
  const cases: [string, GhnBuilderName[]][] = [
    ['resnet18', ['ghn3', 'ppuda']],
    ['mobilenet_v3_small', ['ghn3', 'ppuda']],
    ['squeezenet1_0', ['ghn3', 'ppuda']],
    ['vit_b_16', ['ghn3']],
  ];
  for (const [model, builders] of cases) {
    for (const builder of builders) {
      it(`${builder}/${model}`, () => {
        const expected = parseGhnGraphJson(readFileSync(fixturesDir('ghn', 'graphs', builder, `${model}.json`), 'utf8'));
        const built = buildGhnGraph(buildZooModel(model), { builder });
        expect(ghnGraphsEqual(built, expected).differences).toEqual([]);
        expect(built.nodes.map((n) => [n.op, n.shape])).toEqual(expected.nodes.map((n) => [n.op, n.shape]));
        expect(built.edges).toEqual(expected.edges);
      });
    }
  }
});
