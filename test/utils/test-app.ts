import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import { loadConfig, type AppConfig } from '../../src/infra/config/app-config';
import { createApp } from '../../src/server';
import { s3Env } from './swift-s3';

export const ADMIN_KEY = 'ws_test_admin_key_0123456789abcdef';

/** PostgreSQL URL for the e2e run, or null to use PGlite (set by `npm run test:e2e:pg` / CI). */
export function testDatabaseUrl(): string | null {
  const url = process.env.TEST_DATABASE_URL;
  return url && url.trim() !== '' ? url : null;
}

/** The S3-compatible server and bucket of this e2e pass, or null for the filesystem store (TEST_BLOB_STORE=s3; see test/e2e/global-setup.ts). */
export function testS3(): { endpoint: string; bucket: string } | null {
  if (process.env.TEST_BLOB_STORE !== 's3') return null;
  const endpoint = process.env.TEST_S3_ENDPOINT;
  const bucket = process.env.TEST_S3_BUCKET;
  if (!endpoint || !bucket) throw new Error('TEST_BLOB_STORE=s3 needs TEST_S3_ENDPOINT and TEST_S3_BUCKET (set by the e2e global setup)');
  return { endpoint, bucket };
}

/** Each test server keeps its blobs under a key prefix of its own: the data directory's name. */
export function s3PrefixOf(dataDir: string): string {
  return `${basename(dataDir)}/`;
}

export function databaseLabel(): string {
  return `${testDatabaseUrl() ? 'postgresql' : 'pglite'}${testS3() ? ', s3' : ''}`;
}

/** Empties every table of the PostgreSQL test database (PGlite tests use a fresh directory instead). */
export async function resetPostgres(url: string): Promise<void> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    const { rows } = await pg.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'");
    if (rows.length) await pg.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
  } finally {
    await pg.end();
  }
}

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  dataDir: string;
  /** Stops the app and (unless keepData) removes its data directory. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export function testEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const db = testDatabaseUrl();
  const s3 = testS3();
  return {
    WEIGHTSMITH_DATA_DIR: dataDir,
    WEIGHTSMITH_ADMIN_KEY: ADMIN_KEY,
    WEIGHTSMITH_LOG_LEVEL: 'error',
    WEIGHTSMITH_BACKEND: 'cpu',
    WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0',
    WEIGHTSMITH_JOB_POLL_MS: '50',
    PORT: '0',
    HOST: '127.0.0.1',
    ...(db ? { DATABASE_URL: db } : {}),
    ...(s3 ? s3Env(s3.endpoint, s3.bucket, s3PrefixOf(dataDir)) : {}),
    ...extra,
  };
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'weightsmith-e2e-'));
}

/** Starts the real application on a random port with a fresh data directory (or the given one). */
export async function startTestApp(opts: { dataDir?: string; env?: Record<string, string>; resetDb?: boolean } = {}): Promise<TestApp> {
  const dataDir = opts.dataDir ?? (await makeDataDir());
  const db = testDatabaseUrl();
  if (db && opts.resetDb !== false && !opts.dataDir) await resetPostgres(db);
  const config = loadConfig(testEnv(dataDir, opts.env));
  const app = await createApp(config, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    config,
    url,
    dataDir,
    async close(closeOpts = {}) {
      await app.close();
      if (!closeOpts.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const auth = (key = ADMIN_KEY): Record<string, string> => ({ Authorization: `Bearer ${key}` });
