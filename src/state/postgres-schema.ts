/**
 * The Postgres backend's tables, as versioned migrations. `callform state schema` prints
 * them for a DBA (skipSchemaCreation); otherwise the backend runs the missing ones itself,
 * in one transaction under a transaction-level advisory lock.
 */

/** The version this callform creates and reads. */
export const SCHEMA_VERSION = 1;

/** A SQL identifier, double-quoted (the settings schema only allows [a-z0-9_]; quoting is belt and braces). */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export function migrations(schema: string): Migration[] {
  const s = quoteIdent(schema);
  return [
    {
      version: 1,
      description: 'states, locks, runs and run_tasks',
      sql: `CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}."migrations" (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}."states" (
  name text PRIMARY KEY,
  lineage text NOT NULL,
  serial bigint NOT NULL,
  data text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}."locks" (
  name text PRIMARY KEY,
  holder jsonb NOT NULL
);
CREATE TABLE ${s}."runs" (
  id text PRIMARY KEY,
  state_name text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  outcome text NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX "runs_state_started" ON ${s}."runs" (state_name, started_at DESC);
CREATE TABLE ${s}."run_tasks" (
  run_id text NOT NULL REFERENCES ${s}."runs" (id) ON DELETE CASCADE,
  position integer NOT NULL,
  user_task_id text NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (run_id, position)
);
CREATE INDEX "run_tasks_task" ON ${s}."run_tasks" (user_task_id);`,
    },
  ];
}

/** What `callform state schema` prints: every migration and its bookkeeping row, in one transaction. */
export function schemaSql(schema: string): string {
  const s = quoteIdent(schema);
  const steps = migrations(schema).map(
    (m) =>
      `-- version ${m.version}: ${m.description}\n${m.sql}\nINSERT INTO ${s}."migrations" (version, description) VALUES (${m.version}, '${m.description.replace(/'/g, "''")}');`,
  );
  return `BEGIN;\n${steps.join('\n')}\nCOMMIT;\n`;
}
