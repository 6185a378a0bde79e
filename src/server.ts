import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import type { AppConfig } from './infra/config/app-config';
import { JsonLogger } from './infra/logging/json-logger';

/** Builds the application (not listening). Used by the server, the e2e tests and the OpenAPI script. */
export async function createApp(config: AppConfig, options: { logger?: JsonLogger | false } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: options.logger ?? new JsonLogger(config.log.level, config.log.format),
    abortOnError: false,
  });
  configureApp(app, config);
  return app;
}

export async function startServer(config: AppConfig): Promise<NestExpressApplication> {
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  // Nest's getUrl() names 127.0.0.1 for a wildcard address: say what is bound.
  const url = await app.getUrl();
  const bound = config.host === '0.0.0.0' || config.host === '::' ? `${config.host} (all interfaces), e.g. ${url}` : url;
  new JsonLogger(config.log.level, config.log.format).log({ msg: `Weightsmith listening on ${bound} (docs at ${url}/docs)`, host: config.host, port: config.port, dataDir: config.dataDir }, 'Server');
  return app;
}
