/**
 * Writes the OpenAPI document of the application to openapi.json (or checks it with --check).
 * The app is built without listening and without opening the database.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApiDocument } from '../src/app.setup';
import { projectRoot } from '../src/core/io/project-root';
import { loadConfig } from '../src/infra/config/app-config';
import { createApp } from '../src/server';

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const dataDir = mkdtempSync(join(tmpdir(), 'weightsmith-openapi-'));
  try {
    const app = await createApp(loadConfig({ WEIGHTSMITH_DATA_DIR: dataDir }), { logger: false });
    const text = JSON.stringify(buildOpenApiDocument(app), null, 2) + '\n';
    const target = join(projectRoot(), 'openapi.json');
    if (check) {
      let committed = '';
      try {
        committed = readFileSync(target, 'utf8');
      } catch {
        /* missing counts as drift */
      }
      if (committed !== text) {
        process.stderr.write('openapi.json is out of date: run `npm run openapi:generate` and commit the result\n');
        process.exit(1);
      }
      process.stdout.write('openapi.json is up to date\n');
    } else {
      writeFileSync(target, text);
      process.stdout.write(`wrote ${target}\n`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
