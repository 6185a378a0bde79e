import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/io/project-root';

/** Lints `code` as if it were the file at `path` (nothing is written), with the project's ESLint config. */
function lint(path: string, code: string): string[] {
  const eslint = join(projectRoot(), 'node_modules', '.bin', 'eslint');
  const res = spawnSync(eslint, ['--stdin', '--stdin-filename', path, '--format', 'json'], { cwd: projectRoot(), input: code, encoding: 'utf8' });
  const report = JSON.parse(res.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return report.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message}`));
}

/** The layer rules of eslint.config.mjs hold: each case below is refused, and a legal file passes. */
describe('lint boundaries', () => {
  it('refuses the blob store in a module other than checkpoints', () => {
    const code = "import { BLOB_STORE } from '../../infra/storage/storage.module';\nexport const token = BLOB_STORE;\n";
    expect(lint('src/modules/ghns/blob-probe.service.ts', code)).toEqual([expect.stringMatching(/^no-restricted-imports: .*Only the checkpoints module holds the blob store/)]);
    const port = "import type { BlobStore } from '../../core/storage/blob-store.port';\nexport type Store = BlobStore;\n";
    expect(lint('src/modules/inference/port-probe.ts', port)).toEqual([expect.stringMatching(/Only the checkpoints module holds the blob store/)]);
    expect(lint('src/modules/checkpoints/blob-probe.ts', code)).toEqual([]);
  });

  it('refuses Express in a service, and allows it in a controller', () => {
    const code = "import type { Request } from 'express';\nexport function f(req: Request): string { return req.url; }\n";
    expect(lint('src/modules/checkpoints/checkpoints.service.ts', code)).toEqual([expect.stringMatching(/^@typescript-eslint\/no-restricted-imports: .*Services take plain values/)]);
    expect(lint('src/modules/checkpoints/probe.controller.ts', code)).toEqual([]);
  });

  it('refuses src/http importing a feature module, and src/infra importing src/http', () => {
    const code = "import { CheckpointsService } from '../modules/checkpoints/checkpoints.service';\nexport const s = CheckpointsService;\n";
    expect(lint('src/http/probe.ts', code)).toEqual([expect.stringMatching(/^no-restricted-imports: .*do not depend on feature modules/)]);
    const infra = "import { parseRange } from '../../http/byte-range';\nexport const p = parseRange;\n";
    expect(lint('src/infra/storage/probe.ts', infra)).toEqual([expect.stringMatching(/HTTP concerns live in src\/http/)]);
  });

  it('refuses Prisma outside repositories', () => {
    const code = "import { PrismaClient } from '@prisma/client';\nexport const c = PrismaClient;\n";
    expect(lint('src/modules/jobs/jobs.service.ts', code)).toEqual([expect.stringMatching(/Only \*\.repository\.ts files use Prisma/)]);
    expect(lint('src/modules/jobs/jobs.repository.ts', code)).toEqual([]);
  });
});
