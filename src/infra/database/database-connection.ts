import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Client } from 'pg';
import { projectRoot } from '../../core/io/project-root';
import { applyMigrations, loadMigrations } from './migrations';
import { pgliteSession, postgresSession } from './sql-sessions';

export interface DatabaseOptions {
  databaseUrl: string | null;
  dataDir: string;
  migrate: boolean;
}

export interface DatabaseConnection {
  client: PrismaClient;
  kind: 'postgresql' | 'pglite';
  appliedMigrations: string[];
  close(): Promise<void>;
}

export function migrationsDir(): string {
  return join(projectRoot(), 'prisma', 'migrations');
}

/**
 * Opens PostgreSQL (DATABASE_URL) or the embedded PGlite database under the data directory,
 * applying committed migrations first (always for PGlite, whose files only this process opens).
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseConnection> {
  const migrations = await loadMigrations(migrationsDir());
  if (options.databaseUrl === null) {
    const dir = join(options.dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
    const pglite = new PGlite(dir);
    await pglite.waitReady;
    const appliedMigrations = await applyMigrations(pgliteSession(pglite), migrations);
    // pglite-prisma-adapter is typed against an older driver-adapter-utils; the runtime contract matches.
    const client = new PrismaClient({ adapter: new PrismaPGlite(pglite) as never });
    return {
      client,
      kind: 'pglite',
      appliedMigrations,
      async close() {
        await client.$disconnect();
        await pglite.close();
      },
    };
  }
  let appliedMigrations: string[] = [];
  if (options.migrate) {
    const pg = new Client({ connectionString: options.databaseUrl });
    await pg.connect();
    try {
      appliedMigrations = await applyMigrations(postgresSession(pg), migrations);
    } finally {
      await pg.end();
    }
  }
  const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: options.databaseUrl }) });
  return {
    client,
    kind: 'postgresql',
    appliedMigrations,
    close: () => client.$disconnect(),
  };
}
