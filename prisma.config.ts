import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PGlite } from '@electric-sql/pglite';
import { defineConfig } from 'prisma/config';

/*
 * Offline Prisma CLI: `engine: 'js'` migrates through the WebAssembly schema engine via a driver
 * adapter, so no native engine is downloaded. With DATABASE_URL the CLI talks to PostgreSQL;
 * without it (e.g. `prisma migrate diff` when writing a migration) it uses a throwaway in-memory
 * PGlite. The server applies migrations to its own PGlite directory in-process at start.
 */
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (url) return new PrismaPg({ connectionString: url });
    return new PrismaPGlite(new PGlite());
  },
});
