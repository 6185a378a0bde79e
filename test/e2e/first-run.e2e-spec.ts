import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { freePort, startServerProcess, type ServerProcess } from '../utils/server-process';
import { databaseLabel, makeDataDir, resetPostgres, testDatabaseUrl, testEnv } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';
import { projectRoot } from '../../src/core/io/project-root';

/** The first start as a new user sees it: `npm start` with no admin key configured. */
describe(`first start output (${databaseLabel()})`, () => {
  let dataDir: string;
  let server: ServerProcess | null = null;
  beforeEach(async () => {
    dataDir = await makeDataDir();
    const db = testDatabaseUrl();
    if (db) await resetPostgres(db);
  });
  afterEach(async () => {
    await server?.kill('SIGTERM');
    server = null;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is short, names the bound address, and ends with the new admin key in a frame', async () => {
    server = await startServerProcess(dataDir, { WEIGHTSMITH_ADMIN_KEY: '', WEIGHTSMITH_LOG_LEVEL: 'info', HOST: '0.0.0.0' });
    const output = await waitFor('the admin key notice', async () => (/\+-+\+\n*$/.test(server!.output()) ? server!.output() : undefined));
    const lines = output.trimEnd().split('\n');

    // No per-route or per-module line at the info level: start-up output fits on a screen.
    expect(output).not.toMatch(/RouterExplorer|InstanceLoader|RoutesResolver/);
    expect(lines.length).toBeLessThan(25);

    const listening = lines.find((l) => l.includes('listening on'));
    expect(listening).toBeDefined();
    const port = new URL(server.url).port;
    expect((JSON.parse(listening!) as { msg: string }).msg).toContain(`listening on 0.0.0.0:${port} (all interfaces)`);
    expect(listening).not.toMatch(/listening on http:\/\/127\.0\.0\.1/);

    // The key block is the last thing printed: a frame whose rows hold the key, after every log line.
    const frameStart = lines.findIndex((l) => /^\+-+\+$/.test(l));
    expect(frameStart).toBeGreaterThan(lines.indexOf(listening!));
    const frame = lines.slice(frameStart);
    expect(frame.at(-1)).toMatch(/^\+-+\+$/);
    expect(frame.slice(1, -1).every((l) => l.startsWith('| ') && l.endsWith(' |'))).toBe(true);
    const key = /\b(ws_[A-Za-z0-9_-]{20,})\b/.exec(frame.join('\n'))?.[1];
    expect(key).toBeDefined();

    // And it is a working admin key.
    await request(server.url).get('/v1/api-keys').set('Authorization', `Bearer ${key!}`).expect(200);
  });

  it('prints no key on a later start', async () => {
    server = await startServerProcess(dataDir, { WEIGHTSMITH_ADMIN_KEY: '', WEIGHTSMITH_LOG_LEVEL: 'info' });
    await waitFor('the admin key notice', async () => (/\+-+\+\n*$/.test(server!.output()) ? true : undefined));
    await server.kill('SIGTERM');
    server = await startServerProcess(dataDir, { WEIGHTSMITH_ADMIN_KEY: '', WEIGHTSMITH_LOG_LEVEL: 'info' });
    await waitFor('the listening line', async () => (server!.output().includes('listening on') ? true : undefined));
    expect(server.output()).not.toMatch(/ws_[A-Za-z0-9_-]{20,}/);
  });
});

/** `npm start` as its two parts: the build, then the command that runs the server. */
function startScript(): { build: string; serve: string } {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const at = pkg.scripts.start.lastIndexOf('&&');
  expect(at).toBeGreaterThan(0);
  return { build: pkg.scripts.start.slice(0, at).trim(), serve: pkg.scripts.start.slice(at + 2).trim() };
}
const startBuildCommand = () => startScript().build;

describe("npm start's build step", () => {
  const dist = join(projectRoot(), 'dist');
  const runBuild = () => execFileSync('bash', ['-c', startBuildCommand()], { cwd: projectRoot(), stdio: 'pipe', env: { ...process.env, NODE_OPTIONS: '' } });

  it('rewrites nothing when no source changed, and removes output whose source is gone', async () => {
    runBuild(); // brings dist/ up to date with the sources, whatever state the tests found it in
    const before = (await stat(join(dist, 'src', 'main.js'))).mtimeMs;
    const stale = join(dist, 'src', 'modules', 'removed-feature');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'removed.service.js'), 'throw new Error("stale module loaded");\n');
    await writeFile(join(dist, 'src', 'removed.js.map'), '{}');

    runBuild();

    expect((await stat(join(dist, 'src', 'main.js'))).mtimeMs).toBe(before);
    await expect(stat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dist, 'src', 'removed.js.map'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** The process running dist/src/main.js under `root` (itself, or a descendant through exec'ing shells). */
function serverPid(root: number): number | null {
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    if (!existsSync(`/proc/${pid}`)) continue;
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/src/main.js')) return pid;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (children) queue.push(...children.split(/\s+/).map(Number));
  }
  return null;
}

describe("npm start's server process", () => {
  it("runs with glibc's allocator set to give freed memory back", async () => {
    const dataDir = await makeDataDir();
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: '', ...testEnv(dataDir, { PORT: String(port) }) };
    for (const name of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']) delete env[name];
    const child = spawn('bash', ['-c', startScript().serve], { cwd: projectRoot(), env, stdio: 'ignore', detached: true });
    try {
      await waitFor('the server', async () => ((await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => null))?.status === 200 ? true : undefined), 60_000, 100);
      const pid = serverPid(child.pid!);
      expect(pid).not.toBeNull();
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environ).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072', 'MALLOC_TRIM_THRESHOLD_=131072']));
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm configuration of the project', () => {
  it('npm commands run without configuration warnings', () => {
    const result = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: projectRoot(), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/Unknown (project|user|env) config/);
    expect(result.stderr).not.toMatch(/npm warn/i);
  });

  it("every dependency's install script is reviewed in allowScripts, and onnxruntime-node's GPU download is denied", () => {
    const root = projectRoot();
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('onnxruntime-node');
    expect(withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean')).toEqual([]);
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
  });
});
