/**
 * Prints the op types of every zoo model as a Markdown table: how many models use each, the
 * training-relevant attribute values seen, and whether the training executor has the op.
 * Run: npm run build && node dist/scripts/train-op-coverage.js
 */
import { buildZooModel, zooNames } from '../src/core/graph/zoo';
import { opCoverage } from '../src/core/train/op-coverage';

const uses = opCoverage(zooNames().map((name) => buildZooModel(name)));
const lines = ['| op | models | trainable | attributes |', '|---|---|---|---|'];
for (const u of uses) lines.push(`| ${u.opType} | ${u.models.length} | ${u.trainable ? 'yes' : '**no**'} | ${u.attributes.join(' ')} |`);
process.stdout.write(`${lines.join('\n')}\n`);
