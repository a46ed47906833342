/**
 * The PostgreSQL backend (after Terraform's `pg` backend, minus its two known weak spots).
 *
 * - One row per state name in `<schema>.states`; every write is a compare-and-swap on
 *   lineage and serial, so two writers can never silently overwrite each other.
 * - The lock is a session-level `pg_try_advisory_lock` on ONE dedicated connection held
 *   for the whole run (never through the pool, where an unlock can land on another
 *   session). The server drops it when that session ends: a killed run's lock is gone at
 *   once, so there is no force-unlock. A holder record in `<schema>.locks` names the run.
 * - Tables are created on first use inside a transaction holding a transaction-level
 *   advisory lock, so two first runs never race on CREATE TABLE; migrations are versioned.
 * - Every client has an `error` listener; losing the lock connection fails the run's state
 *   writer, so no new API call starts (see workflow/apply.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type * as Pg from 'pg';
import { pg } from './pg-driver.js';
import type { CallformState } from '../generated/state.js';
import { CallformError, errorMessage } from '../errors.js';
import { maskUrlCredentials } from '../model/redact.js';
import type { BackendLockOptions, StateBackend, StateSetting, StoreProblem } from './backend.js';
import { parseState, type LoadedState, emptyState } from './state.js';
import type { LockInfo, LockStatus, StateLock } from './lock.js';
import { selectRuns, type HistoryQuery, type HistoryRun } from './history.js';
import { actorFrom, ciRunUrl } from './history.js';
import { migrations, SCHEMA_VERSION, quoteIdent } from './postgres-schema.js';

type PostgresSetting = Extract<StateSetting, { backend: 'postgres' }>;

/** The holder record of a Postgres lock: the file lock's fields, plus who and where. */
export interface PgLockInfo extends LockInfo {
  user: string | null;
  ciRunUrl: string | null;
  /** The server process of the holder's lock connection (pg_locks.pid). */
  backendPid: number;
}

const KEEPALIVE_MS = 10_000;

/** A signed 64-bit advisory lock key from a purpose and names (sha256; collisions negligible). */
function advisoryKey(...parts: string[]): { key: string; classid: string; objid: string } {
  const h = createHash('sha256').update(parts.join('\0')).digest();
  return {
    key: h.readBigInt64BE(0).toString(),
    classid: String(h.readUInt32BE(0)),
    objid: String(h.readUInt32BE(4)),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pgCode = (err: unknown) => (err as { code?: string } | undefined)?.code;

type Queryable = Pick<Pg.ClientBase, 'query'>;

/**
 * The connection itself failed (rather than the statement): no SQLSTATE (a reset, a closed
 * socket, "Connection terminated"), or a connection exception (08) or operator intervention
 * (57: admin shutdown, pg_terminate_backend).
 */
function connectionGone(err: unknown): boolean {
  const code = pgCode(err);
  const sqlstate = code && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  return sqlstate === null || sqlstate.startsWith('08') || sqlstate.startsWith('57');
}

export class PostgresStateBackend implements StateBackend {
  readonly kind = 'postgres';
  readonly display: string;
  private readonly schema: string;
  private readonly url: string | undefined;
  private readonly password: string | null;
  private pool: Pg.Pool | null = null;
  private schemaReady: Promise<void> | null = null;
  /** The schema is known to be at SCHEMA_VERSION (ensureSchema succeeded). */
  private schemaCurrent = false;
  /**
   * While this process holds the lock: its connection, which also carries the run's reads,
   * writes and history (one connection per apply, no pool to set up), and what to do when
   * it turns out to be gone.
   */
  private session: {
    client: Pg.Client;
    lose: (why: string) => CallformError;
    lost: () => boolean;
  } | null = null;

  constructor(
    readonly setting: PostgresSetting,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.schema = quoteIdent(setting.schema);
    this.display = `postgres ${setting.schema}.${setting.name}`;
    this.url = env[setting.urlEnv] || undefined;
    this.password = this.url ? passwordOf(this.url) : null;
  }

  /** An error's text without credentials: URLs masked, the password itself replaced. */
  mask(text: string): string {
    let out = maskUrlCredentials(text);
    for (const secret of [this.password, this.env.PGPASSWORD]) if (secret) out = out.split(secret).join('***');
    return out;
  }

  private fail(what: string, err: unknown, hint?: string): CallformError {
    if (err instanceof CallformError) return err;
    return new CallformError(
      this.mask(`${what} (${this.display}): ${errorMessage(err)}`),
      hint ?? `check ${this.setting.urlEnv} and that the database accepts connections (callform doctor)`,
    );
  }

  private clientConfig(): Pg.ClientConfig {
    if (!this.url && !this.env.PGHOST && !this.env.PGDATABASE)
      throw new CallformError(
        `the state is in PostgreSQL but ${this.setting.urlEnv} is not set`,
        `export ${this.setting.urlEnv}=postgres://USER:PASSWORD@HOST:5432/DB (or set the standard PG* variables)`,
      );
    // node-postgres reads any other text as a host name ("getaddrinfo ENOTFOUND …"): say what is wrong.
    if (this.url && !/^(postgres(ql)?:\/\/|socket:|\/)/i.test(this.url))
      throw new CallformError(
        `${this.setting.urlEnv} is not a PostgreSQL connection URL (it must start with postgres:// or postgresql://)`,
        `export ${this.setting.urlEnv}=postgres://USER:PASSWORD@HOST:5432/DB`,
      );
    return {
      connectionString: this.url,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_MS,
      connectionTimeoutMillis: 15_000,
      application_name: 'callform',
    };
  }

  private getPool(): Pg.Pool {
    if (!this.pool) {
      // allowExitOnIdle: idle connections never keep the CLI alive.
      this.pool = new pg.Pool({ ...this.clientConfig(), max: 4, allowExitOnIdle: true, idleTimeoutMillis: 5000 });
      // A connection dropped while idle must not crash the process; the next query reconnects.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  /**
   * One statement: on the lock's connection while the lock is held, else through the pool.
   * A session that is gone means the lock is gone: a state write (`stateWrite`) then fails
   * with the lost-lock error, so no state is written without the lock; anything else (the
   * history of the run that lost it, reads) goes through the pool.
   */
  private async query<R extends Pg.QueryResultRow>(
    sql: string,
    values: unknown[] = [],
    { stateWrite = false } = {},
  ): Promise<Pg.QueryResult<R>> {
    const session = this.session;
    if (!session || (!stateWrite && session.lost())) return this.getPool().query<R>(sql, values);
    try {
      return await session.client.query<R>(sql, values);
    } catch (err) {
      throw connectionGone(err) ? session.lose(errorMessage(err)) : err;
    }
  }

  private t(table: string): string {
    return `${this.schema}.${quoteIdent(table)}`;
  }

  /** The schema's migration version: 0 when callform's tables are not there. */
  async schemaVersion(via?: Queryable): Promise<number> {
    try {
      const sql = `SELECT max(version) AS v FROM ${this.t('migrations')}`;
      const r = via ? await via.query<{ v: number | null }>(sql) : await this.query<{ v: number | null }>(sql);
      return r.rows[0]?.v ?? 0;
    } catch (err) {
      if (pgCode(err) === '42P01' || pgCode(err) === '3F000') return 0;
      throw err;
    }
  }

  private missingTables(version: number): CallformError {
    return new CallformError(
      `${this.display}: schema "${this.setting.schema}" has no callform tables${version ? ` at version ${SCHEMA_VERSION} (found ${version})` : ''}, and skipSchemaCreation is set`,
      'ask the database administrator to run the SQL that `callform state schema` prints, or set skipSchemaCreation: false',
    );
  }

  /**
   * Creates or migrates the tables once per process (unless skipSchemaCreation); `via` is a
   * connection of the caller's own (the lock's, before it locks), else the pool serves.
   */
  private ensureSchema(via?: Pg.Client): Promise<void> {
    this.schemaReady ??= this.migrate(via).then(
      () => {
        this.schemaCurrent = true;
      },
      (err: unknown) => {
        this.schemaReady = null;
        throw this.fail('cannot prepare the state tables', err);
      },
    );
    return this.schemaReady;
  }

  private async migrate(via?: Pg.Client): Promise<void> {
    const found = await this.schemaVersion(via);
    if (found > SCHEMA_VERSION) throw this.newerSchema(found);
    if (found === SCHEMA_VERSION) return;
    if (this.setting.skipSchemaCreation) throw this.missingTables(found);
    const pooled = via ? null : await this.getPool().connect();
    const client = via ?? pooled!;
    pooled?.on('error', () => undefined);
    try {
      await client.query('BEGIN');
      // Two first runs serialise here; the second sees the first's tables and does nothing.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
        advisoryKey('callform-schema', this.setting.schema).key,
      ]);
      const table = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
        this.t('migrations'),
      ]);
      const now = table.rows[0]?.t
        ? ((await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.t('migrations')}`)).rows[0]
            ?.v ?? 0)
        : 0;
      for (const m of migrations(this.setting.schema)) {
        if (m.version <= now) continue;
        await client.query(m.sql);
        await client.query(`INSERT INTO ${this.t('migrations')} (version, description) VALUES ($1, $2)`, [
          m.version,
          m.description,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      pooled?.release();
    }
  }

  private newerSchema(found: number): CallformError {
    return new CallformError(
      `${this.display}: the tables are at schema version ${found}, written by a newer callform; this one understands version ${SCHEMA_VERSION}`,
      'upgrade callform; nothing was changed',
    );
  }

  /** The row holds compact JSON, parsed whole: a plan's expected settings serve the file layout only. */
  async read(): Promise<LoadedState> {
    try {
      // Under the lock the schema was checked (or created) by lock(): one round trip less.
      const version = this.schemaCurrent ? SCHEMA_VERSION : await this.schemaVersion();
      if (version > SCHEMA_VERSION) throw this.newerSchema(version);
      if (version === 0) {
        if (this.setting.skipSchemaCreation) throw this.missingTables(0);
        return { state: emptyState(), exists: false };
      }
      const r = await this.query<{ data: string }>(`SELECT data FROM ${this.t('states')} WHERE name = $1`, [
        this.setting.name,
      ]);
      const row = r.rows.at(0);
      if (!row) return { state: emptyState(), exists: false };
      return { state: parseState(row.data, this.display, 'state'), exists: true };
    } catch (err) {
      throw this.fail('cannot read the state', err);
    }
  }

  async write(state: CallformState): Promise<void> {
    const text = JSON.stringify(state); // snapshot before any await
    const { lineage, serial } = state;
    await this.ensureSchema();
    let r: Pg.QueryResult;
    try {
      // Compare-and-swap: a new row, or a row of the same lineage with a lower serial.
      r = await this.query(
        `INSERT INTO ${this.t('states')} AS s (name, lineage, serial, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial, data = EXCLUDED.data, updated_at = now()
         WHERE s.lineage = EXCLUDED.lineage AND s.serial < EXCLUDED.serial`,
        [this.setting.name, lineage, serial, text],
        { stateWrite: true },
      );
    } catch (err) {
      throw this.fail('cannot write the state', err);
    }
    if (r.rowCount === 1) return;
    const now = await this.query<{ lineage: string; serial: string }>(
      `SELECT lineage, serial FROM ${this.t('states')} WHERE name = $1`,
      [this.setting.name],
    ).catch(() => null);
    const held = now?.rows[0];
    throw new CallformError(
      `${this.display} was changed by another writer (it now holds lineage ${held?.lineage ?? '?'} serial ${held?.serial ?? '?'}; this run wrote lineage ${lineage} serial ${serial}): not overwritten`,
      'run callform plan to see the state as it is now, then apply again',
    );
  }

  async replace(state: CallformState, expected: { lineage: string; serial: number } | null): Promise<void> {
    await this.ensureSchema();
    const text = JSON.stringify(state);
    const r = expected
      ? await this.query(
          `UPDATE ${this.t('states')} SET lineage = $2, serial = $3, data = $4, updated_at = now()
           WHERE name = $1 AND lineage = $5 AND serial = $6`,
          [this.setting.name, state.lineage, state.serial, text, expected.lineage, expected.serial],
          { stateWrite: true },
        )
      : await this.query(
          `INSERT INTO ${this.t('states')} (name, lineage, serial, data) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
          [this.setting.name, state.lineage, state.serial, text],
          { stateWrite: true },
        );
    if (r.rowCount !== 1)
      throw new CallformError(`${this.display} changed while state push ran: nothing written`, 'run it again');
  }

  private lockKey() {
    return advisoryKey('callform-state', this.setting.schema, this.setting.name);
  }

  private async holder(client: Pick<Pg.Pool, 'query'>): Promise<{ pid: number | null; record: PgLockInfo | null }> {
    const k = this.lockKey();
    const held = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::oid AND objid = $2::oid AND objsubid = 1 LIMIT 1`,
      [k.classid, k.objid],
    );
    const pid = held.rows[0]?.pid ?? null;
    const rec = await client
      .query<{ holder: PgLockInfo }>(`SELECT holder FROM ${this.t('locks')} WHERE name = $1`, [this.setting.name])
      .catch(() => null);
    const record = rec?.rows[0]?.holder ?? null;
    // A record left by a run whose session is gone names nobody.
    return { pid, record: record && record.backendPid === pid ? record : null };
  }

  async lock(options: BackendLockOptions): Promise<StateLock> {
    const now = options.now ?? Date.now;
    const wait = options.sleep ?? sleep;
    const deadline = now() + options.timeoutMs;
    const client = new pg.Client(this.clientConfig());
    let released = false;
    let lost: CallformError | null = null;
    const lose = (why: string): CallformError => {
      if (lost) return lost;
      lost = new CallformError(
        this.mask(`lost the connection to the database that holds the state lock (${why})`),
        'the calls in flight finished and no new call was started; once the database is back, run callform plan (it shows what is uncertain), then apply again',
      );
      if (!released) options.onLost?.(lost);
      return lost;
    };
    // A dropped connection: the server has released the lock; never let it crash the process.
    client.on('error', (err) => lose(errorMessage(err)));
    client.on('end', () => {
      if (!released) lose('the connection was closed');
    });
    const k = this.lockKey();
    try {
      await client.connect();
      // The schema check (or first-run creation) rides on this connection: no pool to open.
      await this.ensureSchema(client);
      let waited = false;
      let pid: number;
      for (;;) {
        const r = await client.query<{ ok: boolean; pid: number }>(
          'SELECT pg_try_advisory_lock($1::bigint) AS ok, pg_backend_pid() AS pid',
          [k.key],
        );
        if (r.rows[0]?.ok) {
          pid = r.rows[0].pid;
          break;
        }
        const h = await this.holder(client);
        if (now() >= deadline) throw this.lockedError(h);
        if (!waited) options.onWait?.(h.record);
        waited = true;
        await wait(Math.min(250, Math.max(1, deadline - now())));
      }
      const info: PgLockInfo = {
        id: randomUUID(),
        operation: options.operation,
        pid: process.pid,
        host: hostname(),
        since: new Date().toISOString(),
        user: actorFrom(this.env),
        ciRunUrl: ciRunUrl(this.env),
        backendPid: pid,
      };
      await client.query(
        `INSERT INTO ${this.t('locks')} (name, holder) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder`,
        [this.setting.name, JSON.stringify(info)],
      );
      const session = { client, lose, lost: () => lost !== null };
      this.session = session;
      return {
        info,
        release: async () => {
          if (released) return;
          released = true;
          if (this.session === session) this.session = null;
          if (!lost)
            // One round trip: the holder record goes and the lock is released.
            await client
              .query(
                `WITH gone AS (DELETE FROM ${this.t('locks')} WHERE name = $1 AND holder->>'id' = $2)
                 SELECT pg_advisory_unlock($3::bigint)`,
                [this.setting.name, info.id, k.key],
              )
              .catch(() => undefined);
          await endClient(client);
        },
      };
    } catch (err) {
      released = true;
      await endClient(client);
      throw this.fail('cannot lock the state', err);
    }
  }

  private lockedError(h: { pid: number | null; record: PgLockInfo | null }): CallformError {
    return new CallformError(
      `state is locked: ${describePgHolder(h.record, h.pid)}`,
      'wait for it to finish, or retry with --lock-timeout; a run that is gone releases the lock with its database session (no force-unlock needed)',
    );
  }

  async lockStatus(): Promise<LockStatus> {
    try {
      if ((await this.schemaVersion()) === 0) return { locked: false };
      const h = await this.holder(this.getPool());
      if (h.pid === null) return { locked: false };
      return { locked: true, holder: h.record, breakable: null };
    } catch (err) {
      throw this.fail('cannot read the lock', err);
    }
  }

  describeHolder(holder: LockInfo | null): string {
    return describePgHolder(holder, null);
  }

  forceUnlock(): Promise<LockInfo> {
    return Promise.reject(
      new CallformError(
        `force-unlock is not needed for ${this.display}: the lock belongs to a database session and the server releases it when that run's connection ends`,
        'if a run seems stuck, stop that process (or have a DBA end its session with pg_terminate_backend)',
      ),
    );
  }

  async writeProblem(): Promise<StoreProblem | null> {
    try {
      const version = await this.schemaVersion();
      if (version === 0 && this.setting.skipSchemaCreation)
        return { problem: this.missingTables(0).message, hint: 'run the SQL of `callform state schema`' };
      const table = version === 0 ? null : this.t('states');
      const r = await this.query<{ ok: boolean }>(
        table
          ? `SELECT has_table_privilege(current_user, '${table.replace(/'/g, "''")}', 'INSERT,UPDATE') AS ok`
          : `SELECT has_database_privilege(current_user, current_database(), 'CREATE') OR has_schema_privilege(current_user, '${this.setting.schema}', 'CREATE') AS ok`,
      ).catch((err: unknown) => {
        // has_schema_privilege on a schema that does not exist
        if (pgCode(err) === '3F000') return { rows: [{ ok: false }] };
        throw err;
      });
      if (r.rows[0]?.ok) return null;
      return {
        problem: table
          ? `the database user cannot write ${table}`
          : `the database user cannot create the schema "${this.setting.schema}" or its tables`,
        hint: 'grant the privileges (see docs/state.md), or have a DBA run `callform state schema` and set skipSchemaCreation: true',
      };
    } catch (err) {
      return { problem: this.mask(errorMessage(err)), hint: `check ${this.setting.urlEnv}` };
    }
  }

  /** doctor: where the database is (no credentials), and its schema version. */
  async describeStore(): Promise<string> {
    try {
      const r = await this.query<{ db: string; v: string }>(
        `SELECT current_database() AS db, current_setting('server_version') AS v`,
      );
      const version = await this.schemaVersion();
      const row = r.rows[0];
      return `${this.display}: database ${row.db} (PostgreSQL ${row.v}), schema ${this.setting.schema} at version ${version}${version === SCHEMA_VERSION ? '' : ` (the first apply creates version ${SCHEMA_VERSION})`}`;
    } catch (err) {
      throw this.fail('cannot reach the database', err);
    }
  }

  /** The state names in the schema (state list). */
  async names(): Promise<Array<{ name: string; serial: number; updatedAt: string }>> {
    try {
      if ((await this.schemaVersion()) === 0) return [];
      const r = await this.query<{ name: string; serial: string; updated_at: Date }>(
        `SELECT name, serial, updated_at FROM ${this.t('states')} ORDER BY name`,
      );
      return r.rows.map((row) => ({
        name: row.name,
        serial: Number(row.serial),
        updatedAt: row.updated_at.toISOString(),
      }));
    } catch (err) {
      throw this.fail('cannot list the states', err);
    }
  }

  /**
   * The run and its tasks in one statement (so one transaction, one round trip). A run that
   * lost its lock is still recorded, through the pool, if the database answers.
   */
  async appendHistory(run: HistoryRun): Promise<void> {
    await this.ensureSchema();
    try {
      await this.query(
        `WITH run AS (
           INSERT INTO ${this.t('runs')} (id, state_name, started_at, finished_at, outcome, record)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
         INSERT INTO ${this.t('run_tasks')} (run_id, position, user_task_id, record)
         SELECT run.id, t.ord, t.rec->>'userTaskID', t.rec
         FROM run, jsonb_array_elements($7::jsonb) WITH ORDINALITY AS t(rec, ord)`,
        [
          run.id,
          this.setting.name,
          run.startedAt,
          run.finishedAt,
          run.outcome,
          JSON.stringify({ ...run, tasks: [] }),
          JSON.stringify(run.tasks),
        ],
      );
    } catch (err) {
      throw this.fail('cannot record the run in the history', err);
    }
  }

  async readHistory(query: HistoryQuery): Promise<HistoryRun[]> {
    try {
      if ((await this.schemaVersion()) === 0) return [];
      const runs = await this.query<{ record: HistoryRun }>(
        `SELECT r.record FROM ${this.t('runs')} r
         WHERE r.state_name = $1 AND ($2::timestamptz IS NULL OR r.started_at >= $2) AND ($5::text IS NULL OR r.id = $5)
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM ${this.t('run_tasks')} t WHERE t.run_id = r.id AND t.user_task_id = $3))
         ORDER BY r.started_at DESC LIMIT $4`,
        [this.setting.name, query.since?.toISOString() ?? null, query.task ?? null, query.limit, query.id ?? null],
      );
      const ids = runs.rows.map((r) => r.record.id);
      const tasks = await this.query<{ run_id: string; record: HistoryRun['tasks'][number] }>(
        `SELECT run_id, record FROM ${this.t('run_tasks')} WHERE run_id = ANY($1) ORDER BY run_id, position`,
        [ids],
      );
      const byRun = new Map<string, HistoryRun['tasks']>();
      for (const row of tasks.rows) byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), row.record]);
      return selectRuns(
        runs.rows.map((r) => ({ ...r.record, tasks: byRun.get(r.record.id) ?? [] })),
        query,
      );
    } catch (err) {
      throw this.fail('cannot read the history', err);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => undefined);
  }
}

function passwordOf(url: string): string | null {
  try {
    return decodeURIComponent(new URL(url).password) || null;
  } catch {
    return null;
  }
}

/**
 * Ends a client without waiting long for a server that is gone. The timer is cleared (and
 * unref'd): a pending 2 s timer kept every apply's process alive 2 s after its work was done.
 */
async function endClient(client: Pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 2000);
    timer.unref();
  });
  await Promise.race([client.end().catch(() => undefined), gone]);
  clearTimeout(timer);
}

function describePgHolder(record: LockInfo | null, backendPid: number | null): string {
  if (!record) return `a run whose holder record is not written yet (database session ${backendPid ?? '?'})`;
  const r = record as Partial<PgLockInfo>;
  return `${record.operation} by ${r.user ?? '?'} (pid ${record.pid} on ${record.host}${r.ciRunUrl ? `, ${r.ciRunUrl}` : ''}) since ${record.since}`;
}
