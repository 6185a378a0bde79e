import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';

/** POST /v2/models/{m}[/versions/{v}]/infer[/binary] */
const INFER_PATH = /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer(\/binary)?\/?$/;

const bodies = new WeakMap<Request, Buffer>();

/** The raw body the infer-route reader collected, if it ran for this request. */
export function inferBodyOf(req: Request): Buffer | undefined {
  return bodies.get(req);
}

function refuse(res: Response, status: number, message: string): void {
  // The rest of the body is not read: close the connection rather than drain it.
  res.setHeader('Connection', 'close');
  res.status(status).json({ error: message });
}

/**
 * Reads the infer route's body (JSON, or a JSON header plus binary tensors) as raw bytes up to
 * `limit`, and skips every other route. Over the limit it answers 413 in the protocol's
 * `{ "error" }` form; a compressed body is refused (415).
 */
export function inferBodyReader(limit: number): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (req.method !== 'POST' || !INFER_PATH.test(req.path)) return next();
    const encoding = (req.header('content-encoding') ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return refuse(res, 415, `Content-Encoding ${encoding} is not supported on the infer route`);
    const tooLarge = `the request body exceeds the infer route's limit of ${limit} bytes (WEIGHTSMITH_MAX_INFER_BYTES)`;
    const declared = Number(req.header('content-length') ?? NaN);
    if (declared > limit) return refuse(res, 413, tooLarge);
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        done = true;
        req.off('data', onData);
        req.resume();
        refuse(res, 413, tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      bodies.set(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      next();
    });
    req.once('error', () => {
      done = true; // the client went away; nothing to answer
    });
  };
}

/**
 * Installs the infer-route body reader on the HTTP server. It runs while Nest instantiates
 * providers, so before configureApp() adds the global JSON parser (1 MiB by default): that parser
 * then finds the infer body consumed and leaves it alone, and only this route gets the larger
 * limit. (An explicit `app.use(inferBodyReader(...))` ahead of the JSON parser would do the same.)
 */
@Injectable()
export class InferBodyReaderInstaller {
  constructor(adapterHost: HttpAdapterHost, @Inject(APP_CONFIG) config: AppConfig) {
    adapterHost.httpAdapter?.use(inferBodyReader(config.inference.maxInferBodyBytes));
  }
}
