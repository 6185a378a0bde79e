import type { PGlite } from '@electric-sql/pglite';
import type { Client } from 'pg';
import type { SqlSession } from './migrations';

/** The migrator's session over an open PGlite database. */
export function pgliteSession(db: PGlite): SqlSession {
  return {
    query: async (sql, params) => (await db.query(sql, params)).rows as never[],
    exec: async (sql) => {
      await db.exec(sql);
    },
  };
}

/** The migrator's session over a connected node-postgres client (one connection: the advisory lock is per session). */
export function postgresSession(client: Client): SqlSession {
  return {
    query: async (sql, params) => (await client.query(sql, params)).rows as never[],
    exec: async (sql) => {
      await client.query(sql);
    },
  };
}
