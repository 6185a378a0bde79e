import type { AppConfig } from '../../infra/config/app-config';
import type { Metrics } from '../../infra/metrics/metrics';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import { JobPayloadError, uuidPayload, type Job } from './job.types';
import type { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

jest.mock('./jobs.repository', () => ({ JobsRepository: class JobsRepository {} }));

const ID = '0b6f6a0e-7a51-4c4f-9b1e-2f1f5d6c7a80';

/** Jobs in memory: created rows, and one claim at a time. */
class FakeRepository {
  rows: Job[] = [];
  finished: { id: string; status: string; error?: { code: string; message: string }; result?: unknown }[] = [];
  async create(input: { type: string; payload: Record<string, unknown>; checkpointId?: string }): Promise<Job> {
    const job = { id: `job-${this.rows.length + 1}`, type: input.type, status: 'queued', payload: input.payload, checkpointId: input.checkpointId ?? null, attempts: 0 } as Job;
    this.rows.push(job);
    return job;
  }
  async claim(_worker: string, types: string[]): Promise<Job | null> {
    const job = this.rows.find((j) => j.status === 'queued' && types.includes(j.type));
    if (!job) return null;
    job.status = 'running';
    job.attempts++;
    return job;
  }
  async find(id: string): Promise<Job | null> {
    return this.rows.find((j) => j.id === id) ?? null;
  }
  async requestCancel(id: string): Promise<Job | null> {
    const job = this.rows.find((j) => j.id === id);
    if (job) job.cancelRequested = true;
    return job ? { ...job } : null;
  }
  /** Never reports a cancellation: only the runner's own process can stop a job here. */
  async heartbeat() {
    return { cancelRequested: false, owned: true };
  }
  async finish(id: string, _worker: string, outcome: { status: string; error?: { code: string; message: string }; result?: unknown }) {
    this.finished.push({ id, ...outcome });
    const job = this.rows.find((j) => j.id === id);
    if (job) job.status = outcome.status as Job['status'];
    return true;
  }
  async recoverStale() {
    return { requeued: [], failed: [] };
  }
}

function setup(concurrency = 2) {
  const repository = new FakeRepository();
  const metrics = { jobsFinished: { inc: () => undefined } } as unknown as Metrics;
  const config = { jobs: { enabled: true, pollMs: 10, heartbeatMs: 1000, staleAfterMs: 5000, concurrency } } as AppConfig;
  const service = new JobsService(repository as unknown as JobsRepository, metrics, new ReferenceRegistry(), config);
  return { repository, service };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('typed job definitions', () => {
  it('uuidPayload accepts exactly the listed uuid fields', () => {
    const parse = uuidPayload('t', ['checkpointId']);
    expect(parse({ checkpointId: ID })).toEqual({ checkpointId: ID });
    for (const bad of [null, [], 'x', {}, { checkpointId: 'resnet18' }, { checkpointId: ID, extra: 1 }]) {
      expect(() => parse(bad)).toThrow(JobPayloadError);
    }
  });

  it('checks a payload when it is enqueued: an invalid one is never stored', async () => {
    const { repository, service } = setup();
    const queue = service.define<{ checkpointId: string }, string>({ type: 'probe', parsePayload: uuidPayload('probe', ['checkpointId']), run: async () => 'done', checkpointOf: (p) => p.checkpointId });
    await expect(queue.enqueue({ checkpointId: 'not-a-uuid' })).rejects.toThrow(/invalid probe job payload: checkpointId must be a uuid/);
    expect(repository.rows).toEqual([]);
    const job = await queue.enqueue({ checkpointId: ID });
    expect(job).toMatchObject({ type: 'probe', payload: { checkpointId: ID }, checkpointId: ID });
    expect(() => service.define({ type: 'probe', parsePayload: (v) => v, run: async () => null })).toThrow(/defined twice/);
  });

  it('runs a claimed job with its typed payload, and fails one whose stored payload is invalid', async () => {
    const { repository, service } = setup();
    const seen: string[] = [];
    service.define<{ checkpointId: string }, { seen: string }>({
      type: 'probe',
      parsePayload: uuidPayload('probe', ['checkpointId']),
      run: async (payload) => {
        seen.push(payload.checkpointId);
        return { seen: payload.checkpointId };
      },
    });
    await repository.create({ type: 'probe', payload: { checkpointId: ID } });
    await repository.create({ type: 'probe', payload: { checkpointId: 42 } }); // e.g. written by an older version
    await service.onApplicationBootstrap();
    await until(() => repository.finished.length === 2);
    await service.onApplicationShutdown();
    expect(seen).toEqual([ID]);
    expect([...repository.finished].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'job-1', status: 'succeeded', result: { seen: ID } },
      { id: 'job-2', status: 'failed', error: { code: 'JOB_PAYLOAD_INVALID', message: 'invalid probe job payload: checkpointId must be a uuid' } },
    ]);
  });

  it('stops a job this process runs as soon as it is cancelled (no heartbeat needed) and records it cancelled', async () => {
    const { repository, service } = setup();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    service.define<{ checkpointId: string }, null>({
      type: 'probe',
      parsePayload: uuidPayload('probe', ['checkpointId']),
      run: (_payload, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          started();
        }),
    });
    await repository.create({ type: 'probe', payload: { checkpointId: ID } });
    await service.onApplicationBootstrap();
    await running;
    expect(await service.cancel('job-1')).toMatchObject({ status: 'running', cancelRequested: true });
    await until(() => repository.finished.length === 1);
    await service.onApplicationShutdown();
    expect(repository.finished).toEqual([{ id: 'job-1', status: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'job was cancelled' } }]);
  });

  it.each([
    [2, ['long started', 'short ran', 'long released']],
    [1, ['long started', 'long released', 'short ran']],
  ])('with concurrency %i the jobs run as %j', async (concurrency, expected) => {
    const { repository, service } = setup(concurrency);
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    service.define<{ checkpointId: string }, null>({
      type: 'probe',
      parsePayload: uuidPayload('probe', ['checkpointId']),
      run: async (payload) => {
        if (payload.checkpointId === ID) {
          events.push('long started');
          await Promise.race([released, new Promise((r) => setTimeout(r, 300))]);
          events.push('long released');
        } else {
          events.push('short ran');
          release();
        }
        return null;
      },
    });
    await repository.create({ type: 'probe', payload: { checkpointId: ID } });
    await repository.create({ type: 'probe', payload: { checkpointId: ID.replace('0b', '1b') } });
    await service.onApplicationBootstrap();
    await until(() => repository.finished.length === 2);
    await service.onApplicationShutdown();
    expect(events).toEqual(expected);
  });
});
