import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Process-wide Prometheus registry and the instruments the service records. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'weightsmith_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'weightsmith_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly uploadedBytes = new Counter({ name: 'weightsmith_uploaded_bytes_total', help: 'Bytes received in uploads', registers: [this.registry] });
  readonly jobsFinished = new Counter({
    name: 'weightsmith_jobs_finished_total',
    help: 'Jobs finished by type and status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });
  readonly tensorCount = new Gauge({ name: 'weightsmith_tfjs_tensors', help: 'Live tfjs tensors', registers: [this.registry] });
  readonly tensorBytes = new Gauge({ name: 'weightsmith_tfjs_bytes', help: 'Bytes held by live tfjs tensors', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'weightsmith_' });
  }
}
