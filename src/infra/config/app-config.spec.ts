import { join } from 'node:path';
import { ConfigError, loadConfig, parseByteSize } from './app-config';

const CWD = '/srv/weightsmith';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env, CWD);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults for an empty environment', () => {
    const config = loadConfig({}, CWD);
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      dataDir: join(CWD, '.weightsmith'),
      databaseUrl: null,
      migrateOnStart: true,
      blobStore: { kind: 'fs' },
      backend: 'auto',
      auth: { enabled: true, adminKey: null },
      limits: { maxUploadBytes: 4 * 1024 ** 3, maxJsonBodyBytes: 1024 ** 2, rateLimitPerMinute: 1200 },
      jobs: { enabled: true },
      log: { level: 'info', format: 'json' },
      training: { stateEverySeconds: 60 },
      native: { kernels: 'auto', threads: null },
      ghn: { defaultName: null, hubUrl: 'https://huggingface.co' },
      inference: { deploymentSyncMs: 2000, defaultEngine: 'auto', maxInferBodyBytes: 64 * 1024 ** 2 },
    });
    expect(config.jobs.staleAfterMs).toBeGreaterThan(config.jobs.heartbeatMs);
  });

  it('reads the native kernel settings: auto or off, and a thread count (0: the cores)', () => {
    expect(loadConfig({ WEIGHTSMITH_NATIVE_KERNELS: 'off', WEIGHTSMITH_NATIVE_THREADS: '3' }, CWD).native).toEqual({ kernels: 'off', threads: 3 });
    expect(loadConfig({ WEIGHTSMITH_NATIVE_THREADS: '0' }, CWD).native).toEqual({ kernels: 'auto', threads: null });
    expect(() => loadConfig({ WEIGHTSMITH_NATIVE_KERNELS: 'on' }, CWD)).toThrow(/WEIGHTSMITH_NATIVE_KERNELS/);
    expect(() => loadConfig({ WEIGHTSMITH_NATIVE_THREADS: '-1' }, CWD)).toThrow(/WEIGHTSMITH_NATIVE_THREADS/);
  });

  it('bounds what an upload converts to: 8 GiB and 16 times the upload by default', () => {
    expect(loadConfig({}, CWD).limits).toMatchObject({ maxCheckpointBytes: 8 * 1024 ** 3, maxCheckpointExpansion: 16 });
    const set = loadConfig({ WEIGHTSMITH_MAX_CHECKPOINT_BYTES: '512MiB', WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION: '4' }, CWD);
    expect(set.limits).toMatchObject({ maxCheckpointBytes: 512 * 1024 ** 2, maxCheckpointExpansion: 4 });
  });

  it('treats empty and blank variables as unset', () => {
    const blank = loadConfig(
      {
        PORT: '',
        WEIGHTSMITH_DATA_DIR: '  ',
        DATABASE_URL: '',
        WEIGHTSMITH_BACKEND: '',
        WEIGHTSMITH_AUTH: '',
        WEIGHTSMITH_ADMIN_KEY: ' ',
        WEIGHTSMITH_MAX_UPLOAD_BYTES: '',
        WEIGHTSMITH_DEFAULT_GHN: '',
        WEIGHTSMITH_GHN_HUB_URL: ' ',
      },
      CWD,
    );
    expect(blank).toEqual(loadConfig({}, CWD));
  });

  it('reads valid values, resolving a relative data dir against cwd and keeping an absolute one', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        WEIGHTSMITH_DATA_DIR: 'data',
        DATABASE_URL: 'postgresql://u:p@db:5432/ws',
        WEIGHTSMITH_BACKEND: 'wasm',
        WEIGHTSMITH_AUTH: 'disabled',
        WEIGHTSMITH_ADMIN_KEY: 'a'.repeat(24),
        WEIGHTSMITH_MAX_UPLOAD_BYTES: '512MiB',
        WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0',
        WEIGHTSMITH_JOBS: 'off',
        WEIGHTSMITH_LOG_FORMAT: 'pretty',
        WEIGHTSMITH_DEFAULT_GHN: 'ghn3xlm16',
        WEIGHTSMITH_GHN_HUB_URL: 'http://127.0.0.1:8080/mirror/',
        WEIGHTSMITH_DEFAULT_ENGINE: 'tfjs',
        WEIGHTSMITH_MAX_INFER_BYTES: '16MiB',
      },
      CWD,
    );
    expect(config).toMatchObject({
      port: 8080,
      dataDir: join(CWD, 'data'),
      databaseUrl: 'postgresql://u:p@db:5432/ws',
      backend: 'wasm',
      auth: { enabled: false, adminKey: 'a'.repeat(24) },
      limits: { maxUploadBytes: 512 * 1024 ** 2, rateLimitPerMinute: 0 },
      jobs: { enabled: false },
      log: { format: 'pretty' },
      ghn: { defaultName: 'ghn3xlm16', hubUrl: 'http://127.0.0.1:8080/mirror' },
      inference: { defaultEngine: 'tfjs', maxInferBodyBytes: 16 * 1024 ** 2 },
    });
    expect(config.blobStore).toEqual({ kind: 'fs' });
    expect(loadConfig({ WEIGHTSMITH_DATA_DIR: '/var/lib/ws', DATABASE_URL: 'postgres://h/db' }, CWD)).toMatchObject({
      dataDir: '/var/lib/ws',
      databaseUrl: 'postgres://h/db',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ PORT: '-1' }, /PORT/],
    [{ WEIGHTSMITH_BACKEND: 'cuda' }, /WEIGHTSMITH_BACKEND.*one of auto, wasm, cpu/],
    [{ DATABASE_URL: 'mysql://h/db' }, /DATABASE_URL must be a postgresql:\/\/ URL/],
    [{ WEIGHTSMITH_BLOB_STORE: 's3' }, /WEIGHTSMITH_S3_BUCKET must name a bucket/],
    [{ WEIGHTSMITH_BLOB_STORE: 's3', WEIGHTSMITH_S3_BUCKET: 'Bad_Bucket' }, /WEIGHTSMITH_S3_BUCKET/],
    [{ WEIGHTSMITH_BLOB_STORE: 's3', WEIGHTSMITH_S3_BUCKET: 'weights', WEIGHTSMITH_S3_ENDPOINT: 'minio:9000' }, /WEIGHTSMITH_S3_ENDPOINT must be an http/],
    [{ WEIGHTSMITH_BLOB_STORE: 's3', WEIGHTSMITH_S3_BUCKET: 'weights', WEIGHTSMITH_S3_FORCE_PATH_STYLE: 'sometimes' }, /WEIGHTSMITH_S3_FORCE_PATH_STYLE/],
    [{ WEIGHTSMITH_BLOB_STORE: 'gcs' }, /WEIGHTSMITH_BLOB_STORE.*one of fs, s3/],
    [{ WEIGHTSMITH_DEPLOYMENT_SYNC_MS: 'often' }, /WEIGHTSMITH_DEPLOYMENT_SYNC_MS/],
    [{ WEIGHTSMITH_BLOB_STORE: 's3', WEIGHTSMITH_S3_BUCKET: 'weights', AWS_ACCESS_KEY_ID: 'only-the-id' }, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/],
    [{ WEIGHTSMITH_ADMIN_KEY: 'short' }, /WEIGHTSMITH_ADMIN_KEY must be at least 24/],
    [{ WEIGHTSMITH_JOB_HEARTBEAT_MS: '5000', WEIGHTSMITH_JOB_STALE_AFTER_MS: '5000' }, /STALE_AFTER_MS must be larger/],
    [{ WEIGHTSMITH_JOBS: 'maybe' }, /WEIGHTSMITH_JOBS/],
    [{ WEIGHTSMITH_INLINE_WORK_SECONDS: '2.5' }, /WEIGHTSMITH_INLINE_WORK_SECONDS/],
    [{ WEIGHTSMITH_MAX_UPLOAD_BYTES: 'lots' }, /WEIGHTSMITH_MAX_UPLOAD_BYTES/],
    [{ WEIGHTSMITH_MAX_CHECKPOINT_BYTES: '0' }, /WEIGHTSMITH_MAX_CHECKPOINT_BYTES/],
    [{ WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION: '1.5' }, /WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION/],
    [{ WEIGHTSMITH_DEFAULT_GHN: 'g'.repeat(201) }, /WEIGHTSMITH_DEFAULT_GHN/],
    [{ WEIGHTSMITH_GHN_HUB_URL: 'ftp://mirror' }, /WEIGHTSMITH_GHN_HUB_URL must be an http/],
    [{ WEIGHTSMITH_GHN_HUB_URL: 'huggingface.co' }, /WEIGHTSMITH_GHN_HUB_URL/],
    [{ WEIGHTSMITH_DEFAULT_ENGINE: 'torch' }, /WEIGHTSMITH_DEFAULT_ENGINE.*one of auto, tfjs, onnxruntime/],
    [{ WEIGHTSMITH_MAX_INFER_BYTES: '3GiB' }, /WEIGHTSMITH_MAX_INFER_BYTES/],
  ])('rejects %j', (env, pattern) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('lists every problem at once, in one ConfigError whose message names them all', () => {
    const env = {
      PORT: 'x',
      WEIGHTSMITH_BACKEND: 'cuda',
      DATABASE_URL: 'sqlite://x',
      WEIGHTSMITH_BLOB_STORE: 's3',
      WEIGHTSMITH_ADMIN_KEY: 'short',
      WEIGHTSMITH_JOB_HEARTBEAT_MS: '9000',
      WEIGHTSMITH_JOB_STALE_AFTER_MS: '1000',
    };
    const problems = problemsOf(env);
    expect(problems).toHaveLength(6);
    for (const name of ['PORT', 'WEIGHTSMITH_BACKEND', 'DATABASE_URL', 'WEIGHTSMITH_BLOB_STORE', 'WEIGHTSMITH_ADMIN_KEY', 'WEIGHTSMITH_JOB_STALE_AFTER_MS']) {
      expect(problems.some((p) => p.includes(name))).toBe(true);
    }
    expect(() => loadConfig(env, CWD)).toThrow(/Invalid configuration:\n {2}- /);
  });
});

describe('WEIGHTSMITH_TRUST_PROXY', () => {
  it('trusts no proxy by default', () => {
    expect(loadConfig({}, CWD).trustProxy).toBe(false);
  });

  it.each([
    ['false', false],
    ['off', false],
    ['true', true],
    ['1', 1],
    ['2', 2],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7, fd00::/8, uniquelocal', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'uniquelocal']],
  ])('reads %j', (raw, expected) => {
    expect(loadConfig({ WEIGHTSMITH_TRUST_PROXY: raw }, CWD).trustProxy).toEqual(expected);
  });

  it.each(['sometimes', '10.0.0.0/33', '10.0.0/8', 'loopback,,', '::1/129', '10.0.0.1/8/8', '1000'])('rejects %j', (raw) => {
    const problems = problemsOf({ WEIGHTSMITH_TRUST_PROXY: raw });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^WEIGHTSMITH_TRUST_PROXY=.* must be true, false, a number of proxy hops/);
  });
});

describe('S3 blob store settings', () => {
  it('reads endpoint, bucket, prefix, region, path style and bucket creation; the prefix ends in /', () => {
    const config = loadConfig(
      {
        WEIGHTSMITH_BLOB_STORE: 's3',
        WEIGHTSMITH_S3_ENDPOINT: 'http://minio:9000',
        WEIGHTSMITH_S3_BUCKET: 'ml-weights',
        WEIGHTSMITH_S3_PREFIX: '/team-a/weightsmith',
        WEIGHTSMITH_S3_REGION: 'eu-west-1',
        WEIGHTSMITH_S3_FORCE_PATH_STYLE: 'true',
        WEIGHTSMITH_S3_CREATE_BUCKET: 'yes',
        WEIGHTSMITH_S3_ABANDONED_UPLOAD_MS: '600000',
        AWS_ACCESS_KEY_ID: 'minio',
        AWS_SECRET_ACCESS_KEY: 'minio-secret',
      },
      CWD,
    );
    expect(config.blobStore).toEqual({
      kind: 's3',
      endpoint: 'http://minio:9000',
      credentials: { accessKeyId: 'minio', secretAccessKey: 'minio-secret' },
      bucket: 'ml-weights',
      prefix: 'team-a/weightsmith/',
      region: 'eu-west-1',
      forcePathStyle: true,
      createBucket: true,
      abandonedUploadMs: 600000,
    });
  });

  it('defaults to AWS itself: no endpoint, us-east-1, virtual-host style, no prefix', () => {
    expect(loadConfig({ WEIGHTSMITH_BLOB_STORE: 's3', WEIGHTSMITH_S3_BUCKET: 'ml-weights' }, CWD).blobStore).toEqual({
      kind: 's3',
      endpoint: null,
      credentials: null,
      bucket: 'ml-weights',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      createBucket: false,
      abandonedUploadMs: 3600000,
    });
  });
});

describe('parseByteSize', () => {
  it.each([
    ['0', 0],
    ['1234', 1234],
    ['512MiB', 512 * 1024 ** 2],
    ['4GiB', 4 * 1024 ** 3],
    ['10MB', 10_000_000],
    ['2k', 2048],
    ['1 tb', 1e12],
    [' 7 KiB ', 7 * 1024],
  ])('parses %j', (raw, expected) => {
    expect(parseByteSize(raw)).toBe(expected);
  });

  it.each(['', 'MiB', '1.5GiB', '-1', '10 XB', '4GiBs', 'ten', '99999999999999999999'])('rejects %j', (raw) => {
    expect(parseByteSize(raw)).toBeNull();
  });
});
