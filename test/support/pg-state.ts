/**
 * Tests against the suite's PostgreSQL server (postgres-setup.ts): a fresh schema per test
 * file, the settings and environment a project needs to use it, and direct reads of what
 * callform stored.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import type { CallformState } from '../../src/generated/state.js';
import type { PostgresStateSetting } from '../../src/generated/config.js';

export const server = () => inject('postgres');

/** A schema name no other test file uses. */
export const freshSchema = (tag: string) => `t_${tag}_${randomBytes(4).toString('hex')}`;

export const pgStateSetting = (schema: string, name = 'default'): PostgresStateSetting => ({
  backend: 'postgres',
  schema,
  name,
});

/** The environment a spawned CLI needs to reach the database. */
export const pgEnv = (): Record<string, string> => ({ CALLFORM_DATABASE_URL: server().url });

/** One query as the superuser, on a connection of its own. */
export async function adminQuery<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: server().url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

/** The state stored under `name`, or null. */
export async function storedState(schema: string, name = 'default'): Promise<CallformState | null> {
  const rows = await adminQuery<{ data: string }>(`SELECT data FROM "${schema}".states WHERE name = $1`, [name]);
  return rows.length ? (JSON.parse(rows[0].data) as CallformState) : null;
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
