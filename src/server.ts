import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import type { AppConfig } from './infra/config/app-config';
import { JsonLogger } from './infra/logging/json-logger';
import { adminKeyNotice, describeListenAddress } from './infra/logging/startup-notice';
import { ApiKeysService } from './modules/api-keys/api-keys.service';

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
  // Say what is bound (Nest's getUrl() names 127.0.0.1 for a wildcard address) and a URL to open.
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  const { bound, url } = describeListenAddress(address);
  new JsonLogger(config.log.level, config.log.format).log({ msg: `Weightsmith listening on ${bound}: open ${url}/docs`, host: address.address, port: address.port, dataDir: config.dataDir }, 'Server');
  // A new admin key is printed last, framed, outside the JSON log stream, so that it is easy to find and copy.
  const adminKey = app.get(ApiKeysService).takeCreatedAdminKey();
  if (adminKey) process.stdout.write(`\n${adminKeyNotice(adminKey)}\n\n`);
  return app;
}
