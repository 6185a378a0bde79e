import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { requestIdMiddleware } from './http/request-id.middleware';
import { ProblemDto } from './http/dto/problem.dto';
import { finishOpenApiDocument } from './http/openapi-document';
import type { AppConfig } from './infra/config/app-config';
import { Metrics } from './infra/metrics/metrics';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { JsonLogger } from './infra/logging/json-logger';
import { IdleCollector, fullGarbageCollection } from './infra/memory/idle-collector';

/** Probes, scrapes and docs: not in the access log. */
const UNLOGGED_PATHS = /^\/(health\/|metrics$|docs|openapi\.json$)/;
/** Quiet time after the last request before dead buffers are collected (see IdleCollector). */
const IDLE_COLLECT_MS = 5_000;

/** Recursively sorts object keys so the committed OpenAPI document diffs cleanly. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Weightsmith')
    .setDescription(
      'Neural-network weights over HTTP: checkpoints (safetensors; PyTorch and ONNX uploads converted safely; streamed, content-addressed, with ranges), architecture graphs, GHN-predicted and classic initializations, long work as jobs, and inference through the Open Inference Protocol under `/v2`. Errors on `/v1` use one problem-details envelope with a stable `code`; `/v2` answers the protocol\'s `{"error"}` body.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    // API keys are opaque strings (ws_...), not JWTs: no bearerFormat.
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: undefined, description: 'API key (ws_...)' })
    .addServer('/', 'The server that serves this document')
    .build();
  const doc = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller: string, method: string) => method,
    extraModels: [ProblemDto],
  });
  return sortKeys(finishOpenApiDocument(doc)) as OpenAPIObject;
}

/**
 * Everything that shapes the HTTP surface, shared by main.ts, the e2e tests and the OpenAPI
 * generator so that all three see the same application.
 */
export function configureApp(app: NestExpressApplication, config: AppConfig): OpenAPIObject {
  const metrics = app.get(Metrics);
  const logger = new JsonLogger(config.log.level, config.log.format);
  app.disable('x-powered-by');
  // Which proxies' X-Forwarded-For to believe for req.ip (the rate limit's client address).
  app.set('trust proxy', config.trustProxy);
  // Only the routes that serve bytes send an ETag (the sha256, documented there); Express's body-hash
  // ETag on every JSON answer would be an undocumented header and a 304 no client asked for.
  app.set('etag', false);
  app.use(requestIdMiddleware);
  const gc = fullGarbageCollection();
  if (gc) {
    const collector = new IdleCollector(gc, IDLE_COLLECT_MS);
    // Probes and scrapes are not work: they neither delay a collection nor call for one.
    app.use(collector.middleware((path) => UNLOGGED_PATHS.test(path)));
    collector.start(1_000);
    (app.getHttpServer() as { once(event: 'close', fn: () => void): unknown }).once('close', () => collector.stop());
  }
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ? `${req.baseUrl}${(req.route as { path: string }).path}` : 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (!UNLOGGED_PATHS.test(req.path)) {
        // Access log: method, path, status, timing and sizes; never bodies or tensor payloads.
        logger.log({ msg: 'request', method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000), bytesOut: Number(res.getHeader('content-length') ?? 0) || undefined }, 'HTTP');
      }
    });
    next();
  });
  app.use(express.json({ limit: config.limits.maxJsonBodyBytes }));
  // Errors raised by middleware (body parser) use the same envelope as handlers.
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    new ProblemDetailsFilter().catch(err, {
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => next }),
    } as never);
  });
  app.enableShutdownHooks();
  const doc = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'openapi.json', customSiteTitle: 'Weightsmith API' });
  return doc;
}
