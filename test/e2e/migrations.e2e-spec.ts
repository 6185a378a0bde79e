import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/io/project-root';
import { applyMigrations, loadMigrations, MigrationError, type Migration, type SqlSession } from '../../src/infra/database/migrations';

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

function sessionOf(db: PGlite): SqlSession {
  return {
    query: async (sql, params) => (await db.query(sql, params)).rows as never[],
    exec: async (sql) => {
      await db.exec(sql);
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

describe('applyMigrations (PGlite in memory)', () => {
  let db: PGlite;
  let session: SqlSession;

  beforeAll(async () => {
    db = new PGlite();
    await db.waitReady;
  }, 30_000);

  afterAll(async () => {
    await db.close();
  });

  beforeEach(async () => {
    await db.exec('DROP TABLE IF EXISTS widgets; DROP TABLE IF EXISTS gadgets; DROP TABLE IF EXISTS "_prisma_migrations";');
    session = sessionOf(db);
  });

  const rows = async (): Promise<MigrationRow[]> =>
    (
      await db.query<MigrationRow>(
        'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY started_at, migration_name',
      )
    ).rows;

  it('applies migrations in order and records each with its sha256 checksum', async () => {
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0001_widgets', '0002_widget_rows']);
    // The second migration depends on the first, so success proves the order.
    expect((await db.query('SELECT id, label, size FROM widgets')).rows).toEqual([{ id: 1, label: 'a', size: 2 }]);
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
    expect((await db.query("SELECT to_regclass('gadgets') AS t")).rows).toEqual([{ t: null }]);
    // And the advisory lock was released: a fixed list still applies.
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0002_widget_rows']);
  });
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

  it('applies the real migrations to an empty database', async () => {
    const db = new PGlite();
    try {
      const names = await applyMigrations(sessionOf(db), await loadMigrations(join(projectRoot(), 'prisma', 'migrations')));
      expect(names[0]).toMatch(/_init$/);
      expect((await db.query("SELECT to_regclass('api_keys') AS t")).rows).toEqual([{ t: 'api_keys' }]);
    } finally {
      await db.close();
    }
  }, 30_000);
});
