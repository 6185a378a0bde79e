import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../core/io/project-root';
import { applyMigrations, loadMigrations, MigrationError, type Migration, type SqlSession } from './migrations';

/*
 * PGlite cannot start under the unit Jest config: its Emscripten loader does `await import('module')`,
 * which Jest only allows with NODE_OPTIONS=--experimental-vm-modules (set for the e2e suite only).
 * So the migrator's logic is checked here against an in-memory fake of the SQL session that keeps
 * the `_prisma_migrations` rows with transaction semantics; the e2e suite applies the real SQL.
 */

interface Row {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

class FakeSession implements SqlSession {
  rows: Row[] = [];
  /** Migration scripts that ran (and were committed), in order. */
  scripts: string[] = [];
  locked = 0;
  tableCreated = false;
  private snapshot: { rows: Row[]; scripts: string[] } | null = null;

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (sql.includes('pg_advisory_lock(')) this.locked++;
    else if (sql.includes('pg_advisory_unlock(')) this.locked--;
    else if (sql.startsWith('SELECT migration_name')) return this.rows.map((r) => ({ ...r })) as T[];
    else if (sql.startsWith('INSERT INTO "_prisma_migrations"')) {
      const [id, checksum, name] = params as string[];
      this.rows.push({ id, checksum, migration_name: name, finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    } else if (sql.startsWith('UPDATE "_prisma_migrations"')) {
      const row = this.rows.find((r) => r.id === params[0]);
      if (!row) throw new Error('update of a missing row');
      row.finished_at = new Date();
      row.applied_steps_count = 1;
    } else throw new Error(`unexpected query: ${sql}`);
    return [];
  }

  async exec(sql: string): Promise<void> {
    if (sql.includes('CREATE TABLE IF NOT EXISTS "_prisma_migrations"')) this.tableCreated = true;
    else if (sql === 'BEGIN') this.snapshot = { rows: this.rows.map((r) => ({ ...r })), scripts: [...this.scripts] };
    else if (sql === 'COMMIT') this.snapshot = null;
    else if (sql === 'ROLLBACK') {
      if (!this.snapshot) throw new Error('ROLLBACK outside a transaction');
      ({ rows: this.rows, scripts: this.scripts } = this.snapshot);
      this.snapshot = null;
    } else {
      if (!this.snapshot) throw new Error('migration script ran outside a transaction');
      this.scripts.push(sql);
      if (sql.includes('syntax error')) throw new Error('relation "nope" does not exist');
    }
  }
}

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

const first = migration('0001_widgets', 'CREATE TABLE widgets (id INT);');
const second = migration('0002_sizes', 'ALTER TABLE widgets ADD COLUMN size INT;');

describe('applyMigrations', () => {
  let session: FakeSession;
  beforeEach(() => {
    session = new FakeSession();
  });

  it('creates the table, applies migrations in order and records sha256 checksums', async () => {
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0001_widgets', '0002_sizes']);
    expect(session.tableCreated).toBe(true);
    expect(session.scripts).toEqual([first.sql, second.sql]);
    expect(session.rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual([
      ['0001_widgets', createHash('sha256').update(first.sql).digest('hex'), 1],
      ['0002_sizes', createHash('sha256').update(second.sql).digest('hex'), 1],
    ]);
    expect(session.rows.every((r) => r.finished_at instanceof Date)).toBe(true);
    expect(new Set(session.rows.map((r) => r.id)).size).toBe(2);
    expect(session.locked).toBe(0);
  });

  it('applies nothing on a second run, and only new ones of a longer list', async () => {
    await applyMigrations(session, [first]);
    await expect(applyMigrations(session, [first])).resolves.toEqual([]);
    await expect(applyMigrations(session, [first, second])).resolves.toEqual(['0002_sizes']);
    expect(session.scripts).toEqual([first.sql, second.sql]);
    expect(session.rows).toHaveLength(2);
  });

  it('refuses with MigrationError when an applied migration was modified, and releases the lock', async () => {
    await applyMigrations(session, [first]);
    const edited = migration(first.name, first.sql + ' -- edited');
    const error = await applyMigrations(session, [edited, second]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0001_widgets.*modified/);
    expect(session.scripts).toEqual([first.sql]);
    expect(session.locked).toBe(0);
  });

  it('rolls a failing migration back, leaves no row for it, and stops there', async () => {
    const broken = migration('0002_broken', 'INSERT INTO nope VALUES (1); -- syntax error');
    const third = migration('0003_later', 'SELECT 1;');
    const error = await applyMigrations(session, [first, broken, third]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0002_broken failed: relation "nope" does not exist/);
    expect(session.rows.map((r) => r.migration_name)).toEqual(['0001_widgets']);
    expect(session.scripts).toEqual([first.sql]);
    expect(session.locked).toBe(0);
    // Once fixed, the remaining migrations apply.
    await expect(applyMigrations(session, [first, second, third])).resolves.toEqual(['0002_sizes', '0003_later']);
  });

  it('refuses a migration recorded as started but never finished', async () => {
    session.rows.push({ id: 'x', checksum: first.checksum, migration_name: first.name, finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    await expect(applyMigrations(session, [first])).rejects.toThrow(/failed earlier/);
    expect(session.scripts).toEqual([]);
  });

  it('re-applies a migration whose row was marked rolled back', async () => {
    session.rows.push({ id: 'x', checksum: 'old', migration_name: first.name, finished_at: null, rolled_back_at: new Date(), applied_steps_count: 0 });
    await expect(applyMigrations(session, [first])).resolves.toEqual(['0001_widgets']);
  });
});

describe('loadMigrations', () => {
  it('finds the committed init migration in prisma/migrations, with its checksum', async () => {
    const migrations = await loadMigrations(join(projectRoot(), 'prisma', 'migrations'));
    const init = migrations.find((m) => /^\d{14}_init$/.test(m.name));
    expect(init).toBeDefined();
    expect(init!.sql).toMatch(/CREATE TABLE "api_keys"/);
    expect(init!.checksum).toBe(createHash('sha256').update(init!.sql).digest('hex'));
  });

  it('sorts folders by name and ignores plain files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ws-migrations-'));
    try {
      for (const name of ['0002_b', '0001_a']) {
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'migration.sql'), `-- ${name}`);
      }
      await writeFile(join(dir, 'migration_lock.toml'), 'provider = "postgresql"');
      const migrations = await loadMigrations(dir);
      expect(migrations.map((m) => [m.name, m.sql])).toEqual([
        ['0001_a', '-- 0001_a'],
        ['0002_b', '-- 0002_b'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
