import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { projectRoot } from '../../src/core/io/project-root';

const run = promisify(execFile);

/** The credentials of the local Swift s3api (tempauth user test:tester). */
export const SWIFT_CREDENTIALS = { accessKeyId: 'test:tester', secretAccessKey: 'testing' };

export interface SwiftS3 {
  endpoint: string;
  dir: string;
  stop(): Promise<void>;
}

const scripts = join(projectRoot(), '..', 'shared', 's3');

/**
 * Starts OpenStack Swift with its s3api middleware (Debian's packages; `.ci/run` installs them) in
 * a fresh folder, S3 endpoint on `port`. Its storage servers use fixed ports (6200-6202), so one
 * runs per machine at a time: the test tiers start one each and stop it at the end.
 */
export async function startSwift(port: number): Promise<SwiftS3> {
  const dir = await mkdtemp(join(tmpdir(), 'weightsmith-swift-'));
  try {
    await run('bash', [join(scripts, 'start-swift-s3.sh'), dir], { env: { ...process.env, S3_PORT: String(port) }, timeout: 120_000 });
  } catch (e) {
    const hint = 'Swift s3api did not start: install it with `apt-get install -y --no-install-recommends swift swift-proxy swift-object swift-container swift-account python3-swift memcached`';
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${hint}\n${(e as Error).message}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dir,
    async stop() {
      // The PIDs the start script recorded; wait for them to exit so that the fixed ports are free again.
      const runDir = join(dir, 'run');
      const pids = await Promise.all((await readdir(runDir).catch(() => [] as string[])).filter((f) => f.endsWith('.pid') && f !== 'memcached.pid').map(async (f) => Number(await readFile(join(runDir, f), 'utf8'))));
      await run('bash', [join(scripts, 'stop-swift-s3.sh'), dir]).catch(() => undefined);
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: SWIFT_CREDENTIALS });
}

/** The server's environment for an S3 blob store on the local Swift. */
export function s3Env(endpoint: string, bucket: string, prefix = ''): Record<string, string> {
  return {
    WEIGHTSMITH_BLOB_STORE: 's3',
    WEIGHTSMITH_S3_ENDPOINT: endpoint,
    WEIGHTSMITH_S3_BUCKET: bucket,
    WEIGHTSMITH_S3_PREFIX: prefix,
    WEIGHTSMITH_S3_REGION: 'us-east-1',
    WEIGHTSMITH_S3_FORCE_PATH_STYLE: 'true',
    WEIGHTSMITH_S3_CREATE_BUCKET: 'true',
    AWS_ACCESS_KEY_ID: SWIFT_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SWIFT_CREDENTIALS.secretAccessKey,
  };
}
