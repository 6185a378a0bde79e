import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_GHN_HUB_URL } from '../../core/ghn-hub';

/**
 * The one place that reads the environment. Everything is validated here, once, at start; the rest
 * of the code receives a typed AppConfig. An empty variable counts as unset, the same as a missing one.
 */
export const TENSOR_BACKENDS = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type TensorBackendChoice = (typeof TENSOR_BACKENDS)[number];
export const INFERENCE_ENGINES = ['auto', 'tfjs', 'onnxruntime'] as const;
export type InferenceEngineChoice = (typeof INFERENCE_ENGINES)[number];
export const NATIVE_KERNEL_CHOICES = ['auto', 'off'] as const;
export type NativeKernelChoice = (typeof NATIVE_KERNEL_CHOICES)[number];

/** The oneDNN addon: `auto` uses it where it is built and loads; `off` keeps everything on TF.js. */
export interface NativeKernelSettings {
  kernels: NativeKernelChoice;
  /** oneDNN's thread count in each thread that runs kernels; null: the cores. */
  threads: number | null;
}

export interface AppConfig {
  port: number;
  host: string;
  /** Express `trust proxy`: whose X-Forwarded-For gives the client address (false: nobody's; a hop count; addresses/subnets). */
  trustProxy: boolean | number | string[];
  dataDir: string;
  /** PostgreSQL URL; null means embedded PGlite under `<dataDir>/pglite`. */
  databaseUrl: string | null;
  /** Apply committed migrations at start (always on PGlite). */
  migrateOnStart: boolean;
  blobStore: BlobStoreConfig;
  backend: TensorBackendChoice;
  auth: { enabled: boolean; adminKey: string | null };
  limits: {
    maxUploadBytes: number;
    /** Largest tensor data an upload may convert to, checked from its shapes before anything is inflated or written. */
    maxCheckpointBytes: number;
    /** A converted upload may also take at most this many times its own size (with a 64 MiB floor). */
    maxCheckpointExpansion: number;
    maxJsonBodyBytes: number;
    maxHeaderBytes: number;
    /** Requests per minute per client; 0 disables rate limiting. */
    rateLimitPerMinute: number;
  };
  jobs: {
    enabled: boolean;
    pollMs: number;
    heartbeatMs: number;
    staleAfterMs: number;
    /** Work estimated above this many seconds (initializations) runs as a job (202), not during the request. */
    inlineWorkSeconds: number;
    /** Jobs one process runs at the same time (a training does not hold up an initialization behind it). */
    concurrency: number;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'json' | 'pretty' };
  inference: {
    /** How often a replica loads deployments another replica created and unloads deleted ones (0: never). */
    deploymentSyncMs: number;
    /** Engine of deployments that ask for `auto` (`auto` here: measured default, see the README). */
    defaultEngine: InferenceEngineChoice;
    /** Body limit of the Open Inference Protocol infer route (JSON or binary tensors). */
    maxInferBodyBytes: number;
  };
  native: NativeKernelSettings;
  training: {
    /** A training saves its resumable state at least this often (and at every epoch end); 0: after every step. */
    stateEverySeconds: number;
  };
  ghn: {
    /** Name of the GHN used when a request names none; null means the most recently added one. */
    defaultName: string | null;
    /** Where `ghn fetch` downloads official checkpoints from (a Hugging Face Hub layout). */
    hubUrl: string;
  };
}

/** Where weight bytes live: `<dataDir>/blobs` on the filesystem, or a bucket of an S3-compatible store. */
export type BlobStoreConfig =
  | { kind: 'fs' }
  | {
      kind: 's3';
      /** Endpoint URL; null means AWS's own for the region. */
      endpoint: string | null;
      /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); null: the AWS SDK's own chain (profiles, roles). */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
      bucket: string;
      /** Key prefix inside the bucket: '' or ending in '/'. */
      prefix: string;
      region: string;
      forcePathStyle: boolean;
      createBucket: boolean;
      /** Multipart uploads older than this are a crashed process's and are aborted at start. */
      abandonedUploadMs: number;
    };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function loadConfig(env: Env = process.env, cwd = process.cwd()): AppConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER, sizes = false): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    const n = sizes ? parseByteSize(raw) : /^\d+$/.test(raw) ? Number(raw) : null;
    if (n === null || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be an integer between ${min} and ${max}`);
      return def;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], def: T): T => {
    const raw = get(name);
    if (raw === undefined) return def;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be one of ${allowed.join(', ')}`);
      return def;
    }
    return raw as T;
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return def;
    if (['1', 'true', 'yes', 'on', 'enabled'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off', 'disabled'].includes(raw.toLowerCase())) return false;
    problems.push(`${name}=${JSON.stringify(raw)} must be true or false`);
    return def;
  };

  const dataDirRaw = get('WEIGHTSMITH_DATA_DIR') ?? './.weightsmith';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);

  const databaseUrl = get('DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgresql:// URL (leave it unset for the embedded PGlite database)');
  }

  const blobStore = s3Settings(oneOf('WEIGHTSMITH_BLOB_STORE', ['fs', 's3'] as const, 'fs'), get, bool, problems);
  if (blobStore.kind === 's3') blobStore.abandonedUploadMs = int('WEIGHTSMITH_S3_ABANDONED_UPLOAD_MS', 3600_000, 0);

  const adminKey = get('WEIGHTSMITH_ADMIN_KEY') ?? null;
  if (adminKey !== null && adminKey.length < 24) problems.push('WEIGHTSMITH_ADMIN_KEY must be at least 24 characters');

  const defaultGhn = get('WEIGHTSMITH_DEFAULT_GHN') ?? null;
  if (defaultGhn !== null && defaultGhn.length > 200) problems.push('WEIGHTSMITH_DEFAULT_GHN must be a GHN name of at most 200 characters');
  const hubUrl = (get('WEIGHTSMITH_GHN_HUB_URL') ?? DEFAULT_GHN_HUB_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(hubUrl)) problems.push('WEIGHTSMITH_GHN_HUB_URL must be an http:// or https:// URL');

  const config: AppConfig = {
    port: int('PORT', 3000, 0, 65535),
    host: get('HOST') ?? '0.0.0.0',
    trustProxy: trustProxySetting(get('WEIGHTSMITH_TRUST_PROXY'), problems),
    dataDir,
    databaseUrl,
    migrateOnStart: bool('WEIGHTSMITH_MIGRATE_ON_START', true),
    blobStore,
    backend: oneOf('WEIGHTSMITH_BACKEND', TENSOR_BACKENDS, 'auto'),
    auth: { enabled: oneOf('WEIGHTSMITH_AUTH', ['enabled', 'disabled'] as const, 'enabled') === 'enabled', adminKey },
    limits: {
      maxUploadBytes: int('WEIGHTSMITH_MAX_UPLOAD_BYTES', 4 * GiB, 1, Number.MAX_SAFE_INTEGER, true),
      maxCheckpointBytes: int('WEIGHTSMITH_MAX_CHECKPOINT_BYTES', 8 * GiB, 1, Number.MAX_SAFE_INTEGER, true),
      maxCheckpointExpansion: int('WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION', 16, 1, 1_000_000),
      maxJsonBodyBytes: int('WEIGHTSMITH_MAX_JSON_BYTES', 1 * MiB, 1024, Number.MAX_SAFE_INTEGER, true),
      maxHeaderBytes: int('WEIGHTSMITH_MAX_SAFETENSORS_HEADER_BYTES', 100 * MiB, 1024, Number.MAX_SAFE_INTEGER, true),
      rateLimitPerMinute: int('WEIGHTSMITH_RATE_LIMIT_PER_MINUTE', 1200, 0),
    },
    jobs: {
      enabled: bool('WEIGHTSMITH_JOBS', true),
      pollMs: int('WEIGHTSMITH_JOB_POLL_MS', 500, 10),
      heartbeatMs: int('WEIGHTSMITH_JOB_HEARTBEAT_MS', 5000, 10),
      staleAfterMs: int('WEIGHTSMITH_JOB_STALE_AFTER_MS', 30000, 50),
      inlineWorkSeconds: int('WEIGHTSMITH_INLINE_WORK_SECONDS', 10, 0, 24 * 3600),
      concurrency: int('WEIGHTSMITH_JOB_CONCURRENCY', 2, 1, 64),
    },
    log: {
      level: oneOf('WEIGHTSMITH_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
      format: oneOf('WEIGHTSMITH_LOG_FORMAT', ['json', 'pretty'] as const, 'json'),
    },
    inference: {
      deploymentSyncMs: int('WEIGHTSMITH_DEPLOYMENT_SYNC_MS', 2000, 0, 24 * 3600_000),
      defaultEngine: oneOf('WEIGHTSMITH_DEFAULT_ENGINE', INFERENCE_ENGINES, 'auto'),
      maxInferBodyBytes: int('WEIGHTSMITH_MAX_INFER_BYTES', 64 * MiB, 1024, 2 * GiB, true),
    },
    training: { stateEverySeconds: int('WEIGHTSMITH_TRAINING_STATE_SECONDS', 60, 0, 24 * 3600) },
    native: { kernels: oneOf('WEIGHTSMITH_NATIVE_KERNELS', NATIVE_KERNEL_CHOICES, 'auto'), threads: int('WEIGHTSMITH_NATIVE_THREADS', 0, 0, 1024) || null },
    ghn: { defaultName: defaultGhn, hubUrl },
  };
  if (config.jobs.staleAfterMs <= config.jobs.heartbeatMs) {
    problems.push('WEIGHTSMITH_JOB_STALE_AFTER_MS must be larger than WEIGHTSMITH_JOB_HEARTBEAT_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function s3Settings(
  kind: 'fs' | 's3',
  get: (name: string) => string | undefined,
  bool: (name: string, def: boolean) => boolean,
  problems: string[],
): BlobStoreConfig {
  if (kind === 'fs') return { kind };
  const endpoint = get('WEIGHTSMITH_S3_ENDPOINT') ?? null;
  if (endpoint !== null && !/^https?:\/\/[^/]+/.test(endpoint)) problems.push('WEIGHTSMITH_S3_ENDPOINT must be an http:// or https:// URL');
  const bucket = get('WEIGHTSMITH_S3_BUCKET') ?? '';
  // S3's bucket naming rules: 3 to 63 characters, lower case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push('WEIGHTSMITH_S3_BUCKET must name a bucket (3 to 63 characters: a-z, 0-9, ".", "-") when WEIGHTSMITH_BLOB_STORE=s3');
  let prefix = get('WEIGHTSMITH_S3_PREFIX') ?? '';
  prefix = prefix.replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  // eslint-disable-next-line no-control-regex
  if (prefix.length > 512 || /[\u0000-\u001f\u007f\\]/.test(prefix)) problems.push('WEIGHTSMITH_S3_PREFIX must be a key prefix of at most 512 printable characters');
  const accessKeyId = get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = get('AWS_SECRET_ACCESS_KEY');
  const sessionToken = get('AWS_SESSION_TOKEN');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  return {
    kind,
    endpoint,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : null,
    bucket,
    prefix,
    region: get('WEIGHTSMITH_S3_REGION') ?? 'us-east-1',
    forcePathStyle: bool('WEIGHTSMITH_S3_FORCE_PATH_STYLE', false),
    createBucket: bool('WEIGHTSMITH_S3_CREATE_BUCKET', false),
    abandonedUploadMs: 3600_000,
  };
}

/**
 * WEIGHTSMITH_TRUST_PROXY: `false` (default: the connection's address), `true` (any proxy: only
 * when nothing reaches the server but through proxies), a number of proxy hops, or a comma-separated
 * list of proxy addresses, subnets (CIDR) and the names loopback, linklocal, uniquelocal.
 */
function trustProxySetting(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || ['false', 'off', 'no', '0'].includes(raw.toLowerCase())) return false;
  if (['true', 'on', 'yes'].includes(raw.toLowerCase())) return true;
  if (/^\d+$/.test(raw) && Number(raw) <= 100) return Number(raw);
  const entries = raw.split(',').map((e) => e.trim());
  const valid = (entry: string): boolean => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
    const [address, bits, ...rest] = entry.split('/');
    const version = isIP(address);
    if (version === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
  };
  if (entries.every(valid)) return entries;
  problems.push(`WEIGHTSMITH_TRUST_PROXY=${JSON.stringify(raw)} must be true, false, a number of proxy hops, or a comma-separated list of proxy addresses or subnets (loopback, linklocal, uniquelocal, 10.0.0.0/8, ...)`);
  return false;
}

/** Accepts plain integers and sizes such as `512MiB`, `4GiB`, `10MB`. */
export function parseByteSize(raw: string): number | null {
  const m = /^(\d+)\s*(|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)$/i.exec(raw.trim());
  if (!m) return null;
  const unit = m[2].toLowerCase();
  const mult: Record<string, number> = {
    '': 1, k: 1024, kb: 1e3, kib: 1024, m: MiB, mb: 1e6, mib: MiB, g: GiB, gb: 1e9, gib: GiB,
    t: 1024 * GiB, tb: 1e12, tib: 1024 * GiB,
  };
  const n = Number(m[1]) * mult[unit];
  return Number.isSafeInteger(n) ? n : null;
}
