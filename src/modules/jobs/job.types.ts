export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job<P = unknown, R = unknown> {
  id: string;
  type: string;
  status: JobStatus;
  payload: P;
  result: R | null;
  error: { code: string; message: string } | null;
  progress: number;
  attempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  checkpointId: string | null;
  workerId: string | null;
  heartbeatAt: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  /** Reports progress in [0, 1]; throws JobCancelledError once cancellation was requested. */
  progress(fraction: number): Promise<void>;
  /**
   * Aborted when the job is cancelled or the server shuts down: pass it to the work, which stops and
   * stores nothing (throwing). A `run` that returns has succeeded, whenever cancellation came.
   */
  readonly signal: AbortSignal;
}

/**
 * One kind of job: its payload and result types, the payload's validator and the work. The jobs
 * service checks a payload when it is enqueued and again when a runner claims it (the row may come
 * from an older version), so `run` only ever sees a valid `P`.
 */
export interface JobDefinition<P, R> {
  readonly type: string;
  /** Returns the payload typed, or throws JobPayloadError saying what is wrong. */
  parsePayload(value: unknown): P;
  run(payload: P, ctx: JobContext): Promise<R>;
  /** The checkpoint the job reads, recorded so that it cannot be deleted while the job is active. */
  checkpointOf?(payload: P): string | null;
  /** Attempts before a job whose process died is failed (default 3). */
  maxAttempts?: number;
}

/** Enqueues jobs of one definition. */
export interface JobQueue<P, R> {
  readonly type: string;
  enqueue(payload: P): Promise<Job<P, R>>;
}

export class JobCancelledError extends Error {
  constructor() {
    super('job was cancelled');
    this.name = 'JobCancelledError';
  }
}

export class JobPayloadError extends Error {
  constructor(type: string, problem: string) {
    super(`invalid ${type} job payload: ${problem}`);
    this.name = 'JobPayloadError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Payload validators for job definitions: an object whose listed fields are uuids. */
export function uuidPayload<K extends string>(type: string, fields: readonly K[]): (value: unknown) => Record<K, string> {
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new JobPayloadError(type, 'not an object');
    const record = value as Record<string, unknown>;
    const extra = Object.keys(record).filter((k) => !(fields as readonly string[]).includes(k));
    if (extra.length > 0) throw new JobPayloadError(type, `unexpected field(s) ${extra.join(', ')}`);
    const out = {} as Record<K, string>;
    for (const field of fields) {
      const v = record[field];
      if (typeof v !== 'string' || !UUID.test(v)) throw new JobPayloadError(type, `${field} must be a uuid`);
      out[field] = v;
    }
    return out;
  };
}
