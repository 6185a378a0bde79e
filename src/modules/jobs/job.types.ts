export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  type: string;
  status: JobStatus;
  payload: Record<string, unknown>;
  result: unknown;
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
  readonly job: Job;
  /** Reports progress in [0, 1]; throws JobCancelledError once cancellation was requested. */
  progress(fraction: number): Promise<void>;
  /** Aborted when the job is cancelled or the server shuts down. */
  readonly signal: AbortSignal;
}

export type JobHandler = (ctx: JobContext) => Promise<unknown>;

export class JobCancelledError extends Error {
  constructor() {
    super('job was cancelled');
    this.name = 'JobCancelledError';
  }
}
