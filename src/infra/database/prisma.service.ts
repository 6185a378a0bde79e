import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { PrismaClient } from '@prisma/client';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { openDatabase, type DatabaseConnection } from './database-connection';

/**
 * Owns the database connection. It opens on module init (not at construction) so that the app can
 * be built without a database, e.g. to generate the OpenAPI document. Only repositories use it.
 */
@Injectable()
export class PrismaService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(PrismaService.name);
  private connection: DatabaseConnection | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    this.connection = await openDatabase({
      databaseUrl: this.config.databaseUrl,
      dataDir: this.config.dataDir,
      migrate: this.config.migrateOnStart,
    });
    this.logger.log({
      msg: 'database ready',
      database: this.connection.kind,
      appliedMigrations: this.connection.appliedMigrations,
    });
  }

  get client(): PrismaClient {
    if (!this.connection) throw new Error('database is not open yet');
    return this.connection.client;
  }

  get kind(): 'postgresql' | 'pglite' {
    return this.connection?.kind ?? (this.config.databaseUrl ? 'postgresql' : 'pglite');
  }

  async ping(): Promise<void> {
    await this.client.$queryRawUnsafe('SELECT 1');
  }

  async onApplicationShutdown(): Promise<void> {
    const c = this.connection;
    this.connection = null;
    await c?.close();
  }
}
