import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { OFFICIAL_GHN_REPO } from '../../src/core/ghn-hub';
import { startTestHub, type TestHub } from '../../src/core/ghn-hub/testing-hub-server';
import { projectRoot } from '../../src/core/io/project-root';
import { GhnsService } from '../../src/modules/ghns/ghns.service';
import { fixtureConfigDocument, GHN3_JOBLIB, GHN3_SAFETENSORS, sha256Of } from '../utils/ghn-fixtures';
import { ADMIN_KEY, auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** The built CLI (`npm run build`), as users run it. */
function weightsmith(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const main = join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the e2e tests (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe(`weightsmith ghn fetch, and a default GHN named by configuration (${databaseLabel()})`, () => {
  const published = sha256Of(GHN3_JOBLIB);
  const wrong = createHash('sha256').update('not the file').digest('hex');
  let hub: TestHub;
  let badHub: TestHub;
  let t: TestApp;
  let dir: string;
  let cwdCount = 0;
  /** A fresh, empty working directory per CLI run. */
  const newCwd = async (): Promise<string> => {
    const cwd = join(dir, `run-${++cwdCount}`);
    await mkdir(cwd);
    return cwd;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weightsmith-ghn-fetch-'));
    hub = await startTestHub([{ path: 'ghn3tm8.pt', source: GHN3_JOBLIB }], { repo: OFFICIAL_GHN_REPO });
    badHub = await startTestHub([{ path: 'ghn3tm8.pt', source: GHN3_JOBLIB, publishedSha256: wrong }], { repo: OFFICIAL_GHN_REPO });
    t = await startTestApp({ env: { WEIGHTSMITH_DEFAULT_GHN: 'ghn3tm8' } });
  });
  afterAll(async () => {
    await t?.close();
    await hub?.close();
    await badHub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('documents itself and refuses an unknown name as a usage error', async () => {
    const cwd = await newCwd();
    const [help, unknown] = await Promise.all([weightsmith(cwd, ['ghn', 'fetch', '--help']), weightsmith(cwd, ['ghn', 'fetch', 'ghn4', '--hub', hub.url])]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/ghn3tm8.*ghn3sm8.*ghn3lm8.*ghn3xlm16.*ghn2/s);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^weightsmith: .*'ghn4' is invalid/)]);
    expect(hub.requests).toEqual([]);
  });

  it('writes the verified checkpoint to --out, and to ./<name>.pt by default', async () => {
    const cwd = await newCwd();
    const run = await weightsmith(cwd, ['ghn', 'fetch', 'ghn3tm8', '--out', 'fetched.pt', '--hub', hub.url]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({
      name: 'ghn3tm8',
      file: 'ghn3tm8.pt',
      url: `${hub.url}/${OFFICIAL_GHN_REPO}/resolve/main/ghn3tm8.pt`,
      sizeBytes: readFileSync(GHN3_JOBLIB).length,
      sha256: published,
      out: join(cwd, 'fetched.pt'),
    });
    expect((await readFile(join(cwd, 'fetched.pt'))).equals(readFileSync(GHN3_JOBLIB))).toBe(true);
    expect(await readdir(cwd)).toEqual(['fetched.pt']);
    expect(hub.requests).toEqual([`/api/models/${OFFICIAL_GHN_REPO}/tree/main`, `/${OFFICIAL_GHN_REPO}/resolve/main/ghn3tm8.pt`, `/cdn/${published}`]);

    // The hub comes from WEIGHTSMITH_GHN_HUB_URL when --hub is not given.
    const cwd2 = await newCwd();
    const byDefault = await weightsmith(cwd2, ['ghn', 'fetch', 'ghn3tm8'], { WEIGHTSMITH_GHN_HUB_URL: hub.url });
    expect(byDefault.status).toBe(0);
    expect(await readdir(cwd2)).toEqual(['ghn3tm8.pt']);
    expect(sha256Of(join(cwd2, 'ghn3tm8.pt'))).toBe(published);
  });

  it('refuses bytes that do not match the published sha256: one stderr line, non-zero exit, no file', async () => {
    const cwd = await newCwd();
    const run = await weightsmith(cwd, ['ghn', 'fetch', 'ghn3tm8', '--out', 'ghn.pt'], { WEIGHTSMITH_GHN_HUB_URL: badHub.url });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^weightsmith: CHECKSUM_MISMATCH: ghn3tm8\.pt: sha256 mismatch/);
    expect(lines[0]).toContain(wrong);
    expect(lines[0]).toContain(published);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('uploads to a server with --server; the named default GHN follows', async () => {
    const none = await request(t.url).get('/v1/ghns/default').set(auth()).expect(404);
    expect(none.body).toMatchObject({ code: 'GHN_NOT_FOUND', detail: expect.stringContaining('WEIGHTSMITH_DEFAULT_GHN') });

    const cwd = await newCwd();
    const run = await weightsmith(cwd, ['ghn', 'fetch', 'ghn3tm8', '--server', t.url, '--api-key', ADMIN_KEY, '--hub', hub.url]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ name: 'ghn3tm8', sha256: published, out: null });
    expect(summary.ghn).toMatchObject({ name: 'ghn3tm8', sourceSha256: published, source: 'upload', isDefault: true, config: fixtureConfigDocument('ghn3_h32_l3') });
    expect(await readdir(cwd)).toEqual([]);

    // A newer GHN does not displace the configured default.
    const later = await request(t.url).post('/v1/ghns').set(auth()).field('name', 'later').attach('file', GHN3_SAFETENSORS).expect(201);
    expect(later.body.isDefault).toBe(false);
    const byName = await request(t.url).get('/v1/ghns/default').set(auth()).expect(200);
    expect(byName.body).toMatchObject({ id: summary.ghn.id, name: 'ghn3tm8', isDefault: true });
    expect((await t.app.get(GhnsService).resolve(undefined)).ghn.id).toBe(summary.ghn.id);

    // The server refuses the same name again: the CLI fails on one line and keeps nothing.
    const again = await weightsmith(cwd, ['ghn', 'fetch', 'ghn3tm8', '--server', t.url, '--api-key', ADMIN_KEY, '--out', 'kept.pt', '--hub', hub.url]);
    expect(again.status).toBe(1);
    expect(again.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^weightsmith: the server refused the upload: HTTP 409 GHN_NAME_TAKEN: /)]);
    expect(await readdir(cwd)).toEqual([]);
  });
});
