import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../../src/core/io/project-root';
import { applyMigrations, loadMigrations, MigrationError, type Migration, type SqlSession } from '../../src/infra/database/migrations';
import { pgliteSession, postgresSession } from '../../src/infra/database/sql-sessions';
import { databaseLabel, testDatabaseUrl } from '../utils/test-app';

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

/**
 * The server's own migration runner (advisory lock, one transaction per migration, rollback of a
 * failing one) on the database this e2e pass is for: PostgreSQL in a schema of its own when
 * TEST_DATABASE_URL is set, else an in-memory PGlite.
 */
interface TestDatabase {
  /** A new session (its own connection on PostgreSQL; PGlite has one). */
  session(): Promise<{ session: SqlSession; end(): Promise<void> }>;
  query<T>(sql: string): Promise<T[]>;
  /** Drops every object the tests made. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function pgliteDatabase(): Promise<TestDatabase> {
  const db = new PGlite();
  await db.waitReady;
  return {
    session: async () => ({ session: pgliteSession(db), end: async () => undefined }),
    query: async <T>(sql: string) => (await db.query<T>(sql)).rows,
    reset: async () => {
      await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    },
    close: () => db.close(),
  };
}

async function postgresDatabase(url: string): Promise<TestDatabase> {
  const schema = `migrations_e2e_${process.pid}`;
  const connect = async (): Promise<Client> => {
    const client = new Client({ connectionString: url, options: `-c search_path=${schema}` });
    await client.connect();
    return client;
  };
  const admin = await connect();
  const recreate = async (): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`CREATE SCHEMA ${schema}`);
  };
  await recreate();
  return {
    session: async () => {
      const client = await connect();
      return { session: postgresSession(client), end: () => client.end() };
    },
    query: async <T>(sql: string) => (await admin.query(sql)).rows as T[],
    reset: recreate,
    close: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  applied_steps_count: number;
}

const first = migration('0001_widgets', 'CREATE TABLE widgets (id INT PRIMARY KEY, label TEXT NOT NULL);');
const second = migration('0002_widget_rows', "ALTER TABLE widgets ADD COLUMN size INT; INSERT INTO widgets VALUES (1, 'a', 2);");

const url = testDatabaseUrl();
const openDatabase = (): Promise<TestDatabase> => (url ? postgresDatabase(url) : pgliteDatabase());

describe(`applyMigrations (${databaseLabel()})`, () => {
  let db: TestDatabase;
  let session: SqlSession;
  let endSession: () => Promise<void>;

  beforeAll(async () => {
    db = await openDatabase();
  }, 30_000);

  afterAll(async () => {
    await db.close();
  });

  beforeEach(async () => {
    await db.reset();
    ({ session, end: endSession } = await db.session());
  });

  afterEach(async () => {
    await endSession();
  });

  const rows = (): Promise<MigrationRow[]> =>
    db.query<MigrationRow>('SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY started_at, migration_name');

  it('runs on the database of this pass', async () => {
    const [{ version }] = await db.query<{ version: string }>('SELECT version()');
    // PGlite reports itself as PostgreSQL too, built with emscripten for wasm.
    expect(/emscripten|wasm/i.test(version)).toBe(url === null);
  });

  it('applies migrations in order and records each with its sha256 checksum', async () => {
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0001_widgets', '0002_widget_rows']);
    // The second migration depends on the first, so success proves the order.
    expect(await db.query('SELECT id, label, size FROM widgets')).toEqual([{ id: 1, label: 'a', size: 2 }]);
    const recorded = await rows();
    expect(recorded.map((r) => r.migration_name).sort()).toEqual(['0001_widgets', '0002_widget_rows']);
    for (const r of recorded) {
      const expected = r.migration_name === first.name ? first : second;
      expect(r.checksum).toBe(expected.checksum);
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
    }
  });

  it('applies nothing on a second run', async () => {
    await applyMigrations(session, [first, second]);
    await expect(applyMigrations(session, [first, second])).resolves.toEqual([]);
    expect(await rows()).toHaveLength(2);
  });

  it('applies only the new migrations of a longer list', async () => {
    await applyMigrations(session, [first]);
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0002_widget_rows']);
  });

  it('refuses with MigrationError when an applied migration was modified', async () => {
    await applyMigrations(session, [first]);
    const edited = migration(first.name, first.sql + ' -- edited');
    await expect(applyMigrations(session, [edited])).rejects.toThrow(MigrationError);
    await expect(applyMigrations(session, [edited])).rejects.toThrow(/modified/);
  });

  it('rolls a failing migration back and records no row for it', async () => {
    await applyMigrations(session, [first]);
    const broken = migration('0002_broken', 'CREATE TABLE gadgets (id INT); INSERT INTO no_such_table VALUES (1);');
    const error = await applyMigrations(session, [first, broken]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0002_broken/);
    expect((await rows()).map((r) => r.migration_name)).toEqual(['0001_widgets']);
    // The table created before the failing statement was rolled back too.
    expect(await db.query("SELECT to_regclass('gadgets') AS t")).toEqual([{ t: null }]);
    // And the advisory lock was released: a fixed list still applies, from another session.
    const other = await db.session();
    try {
      await expect(applyMigrations(other.session, [first, second])).resolves.toEqual(['0002_widget_rows']);
    } finally {
      await other.end();
    }
  });

  if (url) {
    // Replicas starting at once on one PostgreSQL: the advisory lock lets one apply, the others see it done.
    it('applies each migration once when several sessions start together', async () => {
      const sessions = await Promise.all([1, 2, 3].map(() => db.session()));
      try {
        const results = await Promise.all(sessions.map((s) => applyMigrations(s.session, [first, second])));
        expect(results.flat().sort()).toEqual(['0001_widgets', '0002_widget_rows']);
        expect(results.filter((r) => r.length === 0)).toHaveLength(2);
        expect(await rows()).toHaveLength(2);
      } finally {
        await Promise.all(sessions.map((s) => s.end()));
      }
    });
  }

  it('applies the real migrations to an empty database', async () => {
    const names = await applyMigrations(session, await loadMigrations(join(projectRoot(), 'prisma', 'migrations')));
    expect(names[0]).toMatch(/_init$/);
    expect(await db.query("SELECT to_regclass('api_keys') AS t")).toEqual([{ t: 'api_keys' }]);
    await expect(applyMigrations(session, await loadMigrations(join(projectRoot(), 'prisma', 'migrations')))).resolves.toEqual([]);
  }, 30_000);
});

describe('loadMigrations', () => {
  it('finds the committed init migration with its checksum', async () => {
    const migrations = await loadMigrations(join(projectRoot(), 'prisma', 'migrations'));
    expect(migrations.length).toBeGreaterThanOrEqual(1);
    const init = migrations.find((m) => /_init$/.test(m.name));
    expect(init).toBeDefined();
    expect(init!.sql).toMatch(/CREATE TABLE/);
    expect(init!.checksum).toBe(createHash('sha256').update(init!.sql).digest('hex'));
    expect(migrations.map((m) => m.name)).toEqual([...migrations.map((m) => m.name)].sort());
  });

});
