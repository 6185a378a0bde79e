import { resolve } from 'node:path';
import { projectRoot } from '../io/project-root';

export { projectRoot };

/** The shared golden fixtures, read in place (never copied into the project). */
export function fixturesDir(...parts: string[]): string {
  return resolve(projectRoot(), '..', 'shared', 'fixtures', ...parts);
}
