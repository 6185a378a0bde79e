import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '../../infra/metrics/metrics';

/** Label for requests that name no deployed model (keeps label cardinality bounded). */
export const UNKNOWN_MODEL_LABEL = '(unknown)';

/** Per-model inference instruments, registered on the process registry served at /metrics. */
@Injectable()
export class InferenceMetrics {
  readonly requests: Counter<'model' | 'status'>;
  readonly latency: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly queueDepth: Gauge<'model'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.requests = new Counter({
      name: 'weightsmith_inference_requests_total',
      help: 'Open Inference Protocol infer requests by model and HTTP status',
      labelNames: ['model', 'status'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'weightsmith_inference_request_duration_seconds',
      help: 'Infer request duration (decode, queue, engine run, encode) of successful requests',
      labelNames: ['model'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'weightsmith_inference_batch_size',
      help: 'Rows per engine run (dynamic batching concatenates requests)',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'weightsmith_inference_queue_depth',
      help: 'Infer requests waiting in the model queue',
      labelNames: ['model'] as const,
      registers,
    });
  }

  /** Drops a removed model's gauge (its counters and histograms keep their history). */
  forget(model: string): void {
    this.queueDepth.remove({ model });
  }
}
