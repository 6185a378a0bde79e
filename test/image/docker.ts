import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/io/project-root';

/** Debian's docker client: it matches Debian's daemon (/usr/local/bin/docker may be a newer client). */
export const DOCKER = '/usr/bin/docker';
export const COMPOSE = 'docker-compose';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Throw unless the command exits 0 (default true). */
  check?: boolean;
}

/** The last `n` characters of a command's output, for error messages. */
export function tail(text: string, n = 4000): string {
  return text.length <= n ? text : '…' + text.slice(-n);
}

/**
 * Runs a command without a shell, collecting its output. On timeout the process group is killed
 * (SIGTERM, then SIGKILL), so that a hung docker client does not outlive the test.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? projectRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        stderr += `\n[killed after ${opts.timeoutMs} ms]`;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 10_000);
      }, opts.timeoutMs);
    }
    child.on('error', (err) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      const result = { code, signal, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
      if ((opts.check ?? true) && code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${tail(stdout, 2000)}\n${tail(stderr)}`));
      } else {
        resolve(result);
      }
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal); // the group of the detached child: only what this test started
  } catch {
    /* already gone */
  }
}

/** ../shared/docker/start-docker.sh, next to the repository (a fresh CI clone has it there too). */
export function startDockerScript(): string {
  return join(projectRoot(), '..', 'shared', 'docker', 'start-docker.sh');
}

/**
 * Starts (or finds running) the private Docker daemon with its local base images and returns the
 * DOCKER_HOST it prints. Idempotent: ~2 min the first time on a machine, ~2 s after.
 */
export async function startDocker(stateDir: string): Promise<string> {
  const script = startDockerScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: the image tier needs ../shared/docker next to the repository`);
  const res = await run('bash', [script, stateDir], { timeoutMs: 15 * 60 * 1000 });
  const m = /^export DOCKER_HOST=(\S+)$/m.exec(res.stdout);
  if (!m) throw new Error(`start-docker.sh printed no DOCKER_HOST line:\n${res.stdout}\n${res.stderr}`);
  return m[1];
}

/**
 * The image IDs a classic-builder (`DOCKER_BUILDKIT=0`) build printed, base images excluded:
 * every ` ---> <id>` line except the one right after a `FROM` step. With `--no-cache` they are all
 * layers this build made; removing them removes the build stage, which no tag keeps.
 */
export function builtImageIds(buildOutput: string): string[] {
  const ids: string[] = [];
  let afterFrom = false;
  for (const line of buildOutput.split('\n')) {
    if (/^Step \d+\/\d+ : /.test(line)) {
      afterFrom = /^Step \d+\/\d+ : FROM /i.test(line);
      continue;
    }
    const m = /^ ---> ([0-9a-f]{12})\s*$/.exec(line);
    if (m) {
      if (!afterFrom && !ids.includes(m[1])) ids.push(m[1]);
      afterFrom = false;
    }
  }
  return ids;
}
