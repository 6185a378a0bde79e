import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README is the user's manual: every setting the server reads is in its configuration table,
 * and it points at nothing outside the repository (a clone has no sibling folders).
 */
const root = join(__dirname, '..', '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function settingsRead(): string[] {
  const source = readFileSync(join(__dirname, 'app-config.ts'), 'utf8');
  return [...new Set([...source.matchAll(/'(WEIGHTSMITH_[A-Z0-9_]+)'/g)].map((m) => m[1]))].sort();
}

function configurationTable(): string {
  const start = readme.indexOf('## Configuration');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('documents every WEIGHTSMITH_ setting the configuration reads', () => {
    const settings = settingsRead();
    expect(settings.length).toBeGreaterThan(10);
    const table = configurationTable();
    expect(settings.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('names no path outside the repository', () => {
    const outside = readme.split('\n').filter((line) => /(^|[\s(`'"])\.\.\//.test(line));
    expect(outside).toEqual([]);
  });
});
