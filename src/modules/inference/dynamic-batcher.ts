import { CoreError } from '../../core/errors';
import type { HostTensor, HostTensorData } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';

export interface BatcherOptions {
  /** Most rows one engine run takes. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others to join its batch. */
  maxQueueDelayMs: number;
  /** Most requests waiting (not counting the batch running); more are refused (503). */
  maxQueueSize: number;
  /** Concatenate compatible requests along dim 0; false runs each request alone, in order. */
  batching: boolean;
  run(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  /** Called once per engine run with its rows (metrics). */
  onBatch?(rows: number, requests: number): void;
  /** Called whenever the number of waiting requests changes (metrics). */
  onQueueDepth?(depth: number): void;
}

interface Pending {
  inputs: Record<string, HostTensor>;
  rows: number;
  key: string;
  enqueuedAt: number;
  resolve(outputs: Record<string, HostTensor>): void;
  reject(error: unknown): void;
}

type TypedArrayCtor = new (length: number) => HostTensorData;

/** Stacks the requests' tensors of one input along dim 0. */
function concatRows(parts: HostTensor[]): HostTensor {
  const first = parts[0];
  const rows = parts.reduce((n, t) => n + t.shape[0], 0);
  const data = new (first.data.constructor as TypedArrayCtor)(parts.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of parts) {
    (data as Float32Array).set(t.data as Float32Array, offset);
    offset += t.data.length;
  }
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data };
}

/** Rows [start, start + rows) of a batched output, copied. */
function sliceRows(t: HostTensor, start: number, rows: number): HostTensor {
  const perRow = t.shape[0] === 0 ? 0 : t.data.length / t.shape[0];
  return { dtype: t.dtype, shape: [rows, ...t.shape.slice(1)], data: t.data.slice(start * perRow, (start + rows) * perRow) };
}

/**
 * Per-model request queue with dynamic batching (Triton's scheduler, simplified): one engine run
 * at a time; while it runs, requests queue. A batch starts when the oldest request has waited
 * maxQueueDelayMs or enough compatible rows are queued; it takes, in arrival order, requests with
 * the oldest one's batch key while they fit in maxBatchSize (others wait for a later batch). The
 * outputs are split back by each request's rows, so answers never mix.
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closedReason: string | null = null;

  constructor(private readonly options: BatcherOptions) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Queues one request (inputs already checked against the model); resolves with its own outputs. */
  submit(inputs: Record<string, HostTensor>, rows: number, key: string): Promise<Record<string, HostTensor>> {
    if (this.closedReason !== null) return Promise.reject(new ServiceError('SERVICE_UNAVAILABLE', this.closedReason));
    if (this.queue.length >= this.options.maxQueueSize) {
      return Promise.reject(new ServiceError('INFERENCE_QUEUE_FULL', `the model's queue is full (${this.options.maxQueueSize} requests waiting); retry later`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, rows, key, enqueuedAt: performance.now(), resolve, reject });
      this.options.onQueueDepth?.(this.queue.length);
      this.schedule();
    });
  }

  /** Refuses new requests, fails the waiting ones, and resolves once the running batch is done. */
  async close(reason: string): Promise<void> {
    this.closedReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.queue.splice(0)) p.reject(new ServiceError('SERVICE_UNAVAILABLE', reason));
    this.options.onQueueDepth?.(0);
    await this.running;
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0 || this.closedReason !== null) return;
    const { batching, maxBatchSize, maxQueueDelayMs } = this.options;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    if (!batching || waited >= maxQueueDelayMs || this.compatibleRows() >= maxBatchSize) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.running = this.runNext().finally(() => {
        this.running = null;
        this.schedule();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, Math.max(0, maxQueueDelayMs - waited));
    }
  }

  /** Rows queued that could join the oldest request's batch. */
  private compatibleRows(): number {
    const key = this.queue[0].key;
    let rows = 0;
    for (const p of this.queue) if (p.key === key) rows += p.rows;
    return rows;
  }

  /** Takes the next batch off the queue, in arrival order. */
  private takeBatch(): Pending[] {
    const first = this.queue.shift()!;
    const batch = [first];
    if (this.options.batching) {
      let rows = first.rows;
      for (let i = 0; i < this.queue.length && rows < this.options.maxBatchSize; ) {
        const p = this.queue[i];
        if (p.key === first.key && rows + p.rows <= this.options.maxBatchSize) {
          batch.push(p);
          rows += p.rows;
          this.queue.splice(i, 1);
        } else {
          i++;
        }
      }
    }
    this.options.onQueueDepth?.(this.queue.length);
    return batch;
  }

  private async runNext(): Promise<void> {
    const batch = this.takeBatch();
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    try {
      if (batch.length === 1) {
        this.options.onBatch?.(rows, 1);
        batch[0].resolve(await this.options.run(batch[0].inputs));
        return;
      }
      const inputs: Record<string, HostTensor> = {};
      for (const name of Object.keys(batch[0].inputs)) inputs[name] = concatRows(batch.map((p) => p.inputs[name]));
      this.options.onBatch?.(rows, batch.length);
      const outputs = await this.options.run(inputs);
      for (const [name, t] of Object.entries(outputs)) {
        if (t.shape[0] !== rows) {
          throw new CoreError('INFERENCE_FAILED', `output '${name}' has ${t.shape[0]} rows for a batch of ${rows}: deploy this model with dynamicBatching false`);
        }
      }
      let start = 0;
      for (const p of batch) {
        const own: Record<string, HostTensor> = {};
        for (const [name, t] of Object.entries(outputs)) own[name] = sliceRows(t, start, p.rows);
        start += p.rows;
        p.resolve(own);
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
