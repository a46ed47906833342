/**
 * The PostgreSQL state backend against a real server (started once for the run by
 * test/support/postgres-setup.ts): apply and converge, the lock (a concurrent apply waits or
 * fails naming the holder; two state names in parallel), SIGKILLs at random points, the
 * database lost mid-apply (fast shutdown, pg_terminate_backend), concurrent first use,
 * state push refusals, and the history after a partial failure and an interrupted apply.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import {
  createProject,
  describeResult,
  distDir,
  dropDistSnapshot,
  runCli,
  seededRandom,
  simEnv,
  sleep,
  spawnCli,
  useDistSnapshot,
  waitFor,
  type TempProject,
} from '../support/project.js';
import {
  adminQuery,
  dropSchema,
  freshSchema,
  pgEnv,
  pgStateSetting,
  server,
  storedState,
} from '../support/pg-state.js';
import { PG_PASSWORD, startPostgres, startServer, stopServer } from '../support/postgres.js';
import { PostgresStateBackend, type PgLockInfo } from '../../src/state/postgres-backend.js';
import type { HistoryQuery, HistoryRun } from '../../src/state/history.js';
import { openStateBackend, type StateBackend } from '../../src/state/backend.js';
import { STORE_KINDS } from '../support/state-store.js';
import { tempDir } from '../support/temp.js';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parseJson } from '../support/json.js';
import { applyScene, converged, sceneTasks } from '../support/apply-scene.js';

const execFileAsync = promisify(execFile);
const schema = freshSchema('rel');
const specs = sceneTasks;

async function setup(prefix: string, count: number, latencyMs: number, name = prefix, parallelism = 4) {
  const scene = await applyScene(prefix, count, {
    latencyMs,
    parallelism,
    settings: { concurrency: 'fixed', state: pgStateSetting(schema, name) },
  });
  return { ...scene, env: { ...scene.env, ...pgEnv() } };
}

const apply = (p: TempProject, env: Record<string, string | undefined>, extra: string[] = []) =>
  runCli(['apply', '--auto-approve', ...extra], { cwd: p.dir, env });

const backend = (name: string, inSchema = schema) =>
  new PostgresStateBackend(
    { backend: 'postgres', urlEnv: 'CALLFORM_DATABASE_URL', schema: inSchema, name, skipSchemaCreation: false },
    { CALLFORM_DATABASE_URL: server().url },
  );

function noPassword(text: string) {
  expect(text.includes(PG_PASSWORD)).toBe(false);
  expect(text.includes(encodeURIComponent(PG_PASSWORD))).toBe(false);
}

beforeAll(async () => {
  await useDistSnapshot();
});
afterAll(async () => {
  await dropDistSnapshot();
  await dropSchema(schema);
});

describe('postgres backend', { timeout: 120_000 }, () => {
  it('applies, converges, keeps the history, and pulls/lists the state', async () => {
    const { sim, p, tasks, env } = await setup('basic', 4, 0);
    try {
      const first = await apply(p, env);
      expect(first.code, describeResult(['apply'], first)).toBe(0);
      expect(converged(sim, tasks)).toBe(true);
      const stored = await storedState(schema, 'basic');
      expect(Object.keys(stored!.tasks).sort()).toEqual(tasks.map((t) => t.userTaskID));
      expect(await p.readState()).toBeNull(); // no state file: the database holds it
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env });
      expect(plan.code, describeResult(['plan'], plan)).toBe(0);

      const history = await runCli(['history', '--format', 'json'], { cwd: p.dir, env });
      const runs = parseJson<HistoryRun[]>(history.stdout);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ outcome: 'complete', state: 'postgres ' + schema + '.basic' });
      expect(runs[0].counts.applied).toBe(4);
      expect(runs[0].tasks[0].changes.find((c) => c.field === 'taskCreateSetting.maxCall')).toEqual({
        field: 'taskCreateSetting.maxCall',
        before: null,
        after: 3,
      });
      const show = await runCli(['history', 'show', runs[0].id], { cwd: p.dir, env });
      expect(show.stdout).toContain('basic-00: update → applied');
      const byTask = await runCli(['history', '--task', 'basic-01'], { cwd: p.dir, env });
      expect(byTask.stdout).toContain('taskCreateSetting.maxCall: (unset) → 4');

      const pull = await runCli(['state', 'pull'], { cwd: p.dir, env });
      expect(parseJson<{ serial: number }>(pull.stdout).serial).toBe(stored!.serial);
      const list = await runCli(['state', 'list'], { cwd: p.dir, env });
      expect(list.stdout).toMatch(/^basic {2}serial \d+/m);
      const doctor = await runCli(['doctor', '--format', 'json'], { cwd: p.dir, env });
      expect(doctor.stdout).toContain(`schema ${schema} at version 1`);
      for (const r of [first, plan, history, show, pull, list, doctor]) noPassword(r.stdout + r.stderr);
    } finally {
      await sim.close();
    }
  });

  it('a second apply on the same name fails naming the holder or waits with --lock-timeout; two names run in parallel', async () => {
    const a = await setup('lk', 4, 0, 'shared', 2);
    const other = await setup('lk2', 4, 0, 'other', 2);
    // The holder: a run of this process, holding the lock of "shared" until released.
    const holderStore = backend('shared');
    const held = await holderStore.lock({ operation: 'apply', timeoutMs: 0 });
    try {
      const refused = await apply(a.p, a.env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`state is locked: apply by `);
      expect(refused.stderr).toContain(`(pid ${process.pid} on `);
      expect(refused.stderr).toContain('no force-unlock needed');
      const waiter = spawnCli(['apply', '--auto-approve', '--lock-timeout', '60s'], { cwd: a.p.dir, env: a.env });
      const parallel = await apply(other.p, other.env); // another name: not blocked
      expect(parallel.code, describeResult(['apply'], parallel)).toBe(0);
      await waitFor(() => waiter.stderr().includes('waiting up to 60000 ms'), {
        timeoutMs: 20_000,
        what: 'the waiter',
      });
      expect(a.sim.stats().updates).toBe(0);
      await held.release();
      const waited = await waiter.done;
      expect(waited.code, describeResult(['apply'], waited)).toBe(0);
      expect(converged(a.sim, a.tasks) && converged(other.sim, other.tasks)).toBe(true);
    } finally {
      await held.release();
      await holderStore.close();
      await Promise.all([a.sim.close(), other.sim.close()]);
    }
  });

  it('20 SIGKILLs at random points: each next apply takes the lock at once, and the last converges', async () => {
    const { sim, p, tasks, env } = await setup('kill', 12, 40, 'kill', 3);
    const rand = seededRandom(1818);
    let kills = 0;
    try {
      for (let round = 0; round < 20; round++) {
        // Every round changes every task, so each apply has work to be killed in.
        await p.writeCollections({ all: { tasks: specs('kill', 12, 10 + round * 20) } });
        const run = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env });
        await sleep(150 + Math.floor(rand() * 450));
        run.child.kill('SIGKILL');
        const r = await run.done;
        if (r.signal === 'SIGKILL') kills++;
      }
      expect(kills).toBeGreaterThanOrEqual(20 - 2); // a run may finish before its kill
      const final = specs('kill', 12, 10 + 19 * 20);
      const next = await apply(p, env); // lock timeout 0: a dead run's lock must be gone already
      expect(next.code, describeResult(['apply'], next)).toBe(0);
      expect(converged(sim, final)).toBe(true);
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env });
      expect(plan.code, describeResult(['plan'], plan)).toBe(0);
      expect(tasks).toHaveLength(12);
    } finally {
      await sim.close();
    }
  });

  for (const how of ['pg_terminate_backend', 'fast shutdown'] as const) {
    it(`the database lost mid-apply (${how}): exit 1 with a clear message, no new call, nothing lost; the next apply converges`, async () => {
      // The fast shutdown stops a server of its own: the shared one serves other test files meanwhile.
      const own = how === 'fast shutdown' ? await startPostgres() : null;
      const name = how === 'fast shutdown' ? 'fs' : 'tb';
      const { sim, p, tasks, env: baseEnv } = await setup(name, 16, 120, name, 2);
      const env = own ? { ...baseEnv, CALLFORM_DATABASE_URL: own.server.url } : baseEnv;
      try {
        const run = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env });
        await waitFor(() => sim.stats().updates >= 3, { timeoutMs: 20_000, what: 'a few updates to land' });
        if (own) await stopServer(own.server);
        else
          await adminQuery(
            `SELECT pg_terminate_backend((holder->>'backendPid')::int) FROM "${schema}".locks WHERE name = $1`,
            [name],
          );
        const r = await run.done;
        const updatesAtExit = sim.stats().updates;
        if (own) await startServer(own.server);
        expect(r.code, describeResult(['apply'], r)).toBe(1);
        expect(r.stderr).toMatch(
          /lost the connection to the database that holds the state lock|cannot write the state/,
        );
        noPassword(r.stdout + r.stderr);
        expect(updatesAtExit).toBeLessThan(16); // it stopped starting calls
        await sleep(300);
        expect(sim.stats().updates).toBe(updatesAtExit); // nothing sent after the exit
        // Nothing lost: the next plan shows what is left (or uncertain), the next apply converges.
        const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env });
        expect(plan.code, describeResult(['plan'], plan)).toBe(2);
        const next = await apply(p, env);
        expect(next.code, describeResult(['apply'], next)).toBe(0);
        expect(converged(sim, tasks)).toBe(true);
        const again = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env });
        expect(again.code).toBe(0);
      } finally {
        await sim.close();
        await own?.remove();
      }
    }, 90_000);
  }

  it("a run's reads, writes and history ride on the lock's connection; release leaves no timer behind", async () => {
    const store = backend('session');
    let lostWith: Error | null = null;
    const lock = await store.lock({ operation: 'apply', timeoutMs: 0, onLost: (err) => (lostWith = err) });
    const { backendPid } = lock.info as PgLockInfo;
    try {
      const { state } = await store.read();
      await store.write({ ...state, serial: state.serial + 1 });
      const sessions = await adminQuery<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'callform' AND client_port = (SELECT client_port FROM pg_stat_activity WHERE pid = $1)`,
        [backendPid],
      );
      expect(sessions).toEqual([{ n: '1' }]);
      // The lock's session ends: the next write fails as a lost lock (a pool would have written it).
      await adminQuery('SELECT pg_terminate_backend($1)', [backendPid]);
      await expect(store.write({ ...state, serial: state.serial + 2 })).rejects.toThrow(
        /lost the connection to the database that holds the state lock/,
      );
      expect(lostWith).not.toBeNull();
      expect((await storedState(schema, 'session'))!.serial).toBe(state.serial + 1);
      // The run that lost its lock is still recorded (the history is not state: the pool serves).
      await store.appendHistory(run('09', ['x']));
      expect((await store.readHistory({ id: 'run-09', limit: 1 })).map((r) => r.id)).toEqual(['run-09']);
    } finally {
      // A 2 s timer left pending by release once kept every apply's process alive 2 s longer.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        await lock.release();
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
      await store.close();
    }
  });

  it("loading the backend does not load Node's fetch implementation (pg's Cloudflare sniffing on Node 20)", async () => {
    const module = pathToFileURL(path.join(distDir(), 'state', 'postgres-backend.js')).href;
    const script = `await import(${JSON.stringify(module)});
      process.stdout.write(JSON.stringify({ undici: process.moduleLoadList.some((m) => m.includes('undici')), navigator: 'navigator' in globalThis }));`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
    // Node ≥ 21 has a navigator of its own; on Node 20 the stand-in is gone once pg is loaded.
    expect(parseJson<{ undici: boolean; navigator: boolean }>(stdout)).toEqual({
      undici: false,
      navigator: Number(process.versions.node.split('.')[0]) >= 21,
    });
  });

  it('compare-and-swap: a writer behind the stored serial, or of another lineage, is refused and overwrites nothing', async () => {
    const [a, b] = [backend('cas'), backend('cas')];
    try {
      const { state } = await a.read();
      await a.write({ ...state, serial: 1 });
      const seenByB = (await b.read()).state; // serial 1
      await a.write({ ...seenByB, serial: 2 }); // A moves on; B does not know
      await expect(b.write({ ...seenByB, serial: 2 })).rejects.toThrow(
        /postgres .*\.cas was changed by another writer \(it now holds lineage .* serial 2; this run wrote lineage .* serial 2\): not overwritten/,
      );
      await expect(b.write({ ...seenByB, lineage: '00000000-0000-4000-8000-000000000000', serial: 9 })).rejects.toThrow(
        /was changed by another writer/,
      );
      expect((await storedState(schema, 'cas'))!).toMatchObject({ lineage: state.lineage, serial: 2 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('concurrent first use on an empty schema creates the tables once, without errors', async () => {
    const fresh = freshSchema('first');
    const backends = Array.from({ length: 6 }, (_, i) => backend(`n${i}`, fresh));
    try {
      const locks = await Promise.all(backends.map((b) => b.lock({ operation: 'apply', timeoutMs: 0 })));
      await Promise.all(locks.map((l) => l.release()));
      const rows = await adminQuery<{ version: number }>(`SELECT version FROM "${fresh}".migrations`);
      expect(rows).toEqual([{ version: 1 }]);
    } finally {
      await Promise.all(backends.map((b) => b.close()));
      await dropSchema(fresh);
    }
  });

  it('skipSchemaCreation: a missing table is a clear error; state schema prints the SQL', async () => {
    const fresh = freshSchema('dba');
    const p = await createProject({ state: { ...pgStateSetting(fresh), skipSchemaCreation: true } });
    await p.writeCollections({ all: { tasks: specs('dba', 1) } });
    const env = { ...pgEnv(), NXCLOUD_UUID: 'u', NXCLOUD_SECRET_KEY: 's' };
    const plan = await runCli(['plan', '--offline'], { cwd: p.dir, env });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain(`schema "${fresh}" has no callform tables, and skipSchemaCreation is set`);
    expect(plan.stderr).toContain('callform state schema');
    const sql = await runCli(['state', 'schema'], { cwd: p.dir, env });
    expect(sql.stdout).toContain(`CREATE TABLE "${fresh}"."states"`);
    try {
      await adminQuery(sql.stdout);
      const after = await runCli(['plan', '--offline'], { cwd: p.dir, env });
      expect(after.code, describeResult(['plan'], after)).toBe(0);
    } finally {
      await dropSchema(fresh);
    }
  });

  it('state push: into an empty store, refused over another lineage, a higher serial or a different state at the same serial', async () => {
    const { sim, p, env } = await setup('push', 2, 0);
    try {
      // A file state to move in: the same project applied with the file backend first.
      const filep = await createProject({ parallelism: 2 });
      await filep.writeCollections({ all: { tasks: specs('push', 2) } });
      const fileApply = await apply(filep, simEnv(sim));
      expect(fileApply.code, describeResult(['apply'], fileApply)).toBe(0);
      const fileState = await filep.state();
      const pushed = await runCli(['state', 'push', filep.statePath], { cwd: p.dir, env });
      expect(pushed.code, describeResult(['state push'], pushed)).toBe(0);
      expect((await storedState(schema, 'push'))!.lineage).toBe(fileState.lineage);
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env });
      expect(plan.code, describeResult(['plan'], plan)).toBe(0); // the moved state is complete

      await filep.write('older.json', { ...fileState, serial: fileState.serial - 1 });
      const older = await runCli(['state', 'push', filep.file('older.json')], { cwd: p.dir, env });
      expect(older.code).toBe(1);
      expect(older.stderr).toMatch(/is at serial \d+, newer than .*older\.json/);
      await filep.write('other.json', { ...fileState, lineage: '00000000-0000-4000-8000-000000000000', serial: 99 });
      const other = await runCli(['state', 'push', filep.file('other.json')], { cwd: p.dir, env });
      expect(other.code).toBe(1);
      expect(other.stderr).toContain('holds a state of another lineage');
      // One lineage and serial name one state: an edit at the same serial is refused.
      const [firstId] = Object.keys(fileState.tasks);
      const edited = structuredClone(fileState);
      edited.tasks[firstId].taskCreateSetting = { ...edited.tasks[firstId].taskCreateSetting, maxCall: 77 };
      await filep.write('same-serial.json', edited);
      const same = await runCli(['state', 'push', filep.file('same-serial.json')], { cwd: p.dir, env });
      expect(same.code).toBe(1);
      expect(same.stderr).toContain(
        `has serial ${fileState.serial}, as postgres ${schema}.push does, but a different content`,
      );
      expect(same.stderr).toContain(`set "serial" to ${fileState.serial + 1}`);
      expect((await storedState(schema, 'push'))!.serial).toBe(fileState.serial);

      // And back: pull into a file.
      const pull = await runCli(['state', 'pull'], { cwd: p.dir, env });
      expect(parseJson<{ lineage: string }>(pull.stdout).lineage).toBe(fileState.lineage);
    } finally {
      await sim.close();
    }
  });

  it('history after a partial failure and after an interrupted apply', async () => {
    const { sim, p, env } = await setup('hist', 6, 60, 'hist', 1);
    try {
      // Someone finishes hist-05 in the console while the apply runs: its update is refused.
      sim.onRequest = (endpoint) => {
        if (endpoint === 'updateTask' && sim.tasks.get('hist-05')?.taskStatus === 1) sim.setStatus('hist-05', 3);
      };
      const partial = await apply(p, env);
      expect(partial.code, describeResult(['apply'], partial)).toBe(1);
      sim.onRequest = undefined;
      sim.setStatus('hist-05', 1);

      await p.writeCollections({ all: { tasks: specs('hist', 6, 50) } });
      const before = sim.stats().updates;
      const run = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env });
      await waitFor(() => sim.stats().updates >= before + 2, {
        timeoutMs: 15_000,
        what: 'an update of the second apply',
      });
      run.child.kill('SIGINT');
      const interrupted = await run.done;
      expect(interrupted.code).toBe(130);

      const runs = parseJson<HistoryRun[]>((await runCli(['history', '--format', 'json'], { cwd: p.dir, env })).stdout);
      expect(runs.map((r) => r.outcome)).toEqual(['interrupted', 'partial']);
      const failed = runs[1].tasks.filter((t) => t.outcome === 'failed');
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((t) => t.retCode !== null && t.message)).toBe(true);
      expect(runs[0].tasks.some((t) => t.outcome === 'skipped')).toBe(true);
      const text = await runCli(['history'], { cwd: p.dir, env });
      expect(text.stdout.split('\n')[0]).toMatch(/ interrupted +\d+ applied, 0 failed, 0 blocked, \d+ skipped/);
    } finally {
      await sim.close();
    }
  });
});

/** One run of the history, `day` its date; `tasks` the userTaskIDs it changed. */
function run(day: string, tasks: string[]): HistoryRun {
  const at = `2026-01-${day}T00:00:00.000Z`;
  return {
    id: `run-${day}`,
    state: 'contract',
    environment: null,
    startedAt: at,
    finishedAt: at,
    actor: 'octo',
    commit: null,
    ciRunUrl: null,
    planDigest: 'd',
    counts: {
      created: 0,
      applied: tasks.length,
      blocked: 0,
      failed: 0,
      unchanged: 0,
      forgotten: 0,
      skipped: 0,
      resumed: 0,
    },
    outcome: 'complete',
    error: null,
    tasks: tasks.map((userTaskID) => ({
      userTaskID,
      action: 'update',
      outcome: 'applied',
      retCode: null,
      message: null,
      changes: [{ field: 'taskCreateSetting.maxCall', before: 1, after: 2 }],
      pausedMs: null,
    })),
  };
}

// What planning and applying rely on, the same from either store (docs/testing.md, "Both state backends").
describe.each(STORE_KINDS)('the state backend contract (%s)', (kind) => {
  it('an empty store, a write read back, the lock seen while held, and the history selected alike', async () => {
    const dir = await tempDir('callform-contract-');
    const store: StateBackend =
      kind === 'file'
        ? await openStateBackend(
            { backend: 'file', path: path.join(dir, 'callform.state.json') },
            { cwd: dir, env: {} },
          )
        : backend('contract');
    try {
      const empty = await store.read();
      expect(empty.exists).toBe(false);
      expect(empty.state.tasks).toEqual({});
      const lock = await store.lock({ operation: 'apply', timeoutMs: 0 });
      const held = await store.lockStatus();
      expect(held.locked && held.holder).toMatchObject({ id: lock.info.id, operation: 'apply', pid: process.pid });
      const written = { ...empty.state, serial: 1, policyDigest: null };
      await store.write(written);
      expect(await store.read()).toEqual({ state: written, exists: true });
      await lock.release();
      expect(await store.lockStatus()).toEqual({ locked: false });

      const runs = [run('01', ['a']), run('03', ['b']), run('02', ['a', 'b'])];
      for (const r of runs) await store.appendHistory(r);
      const ids = async (q: Omit<HistoryQuery, 'limit'> & { limit?: number }) =>
        (await store.readHistory({ limit: 10, ...q })).map((r) => r.id);
      expect(await ids({})).toEqual(['run-03', 'run-02', 'run-01']);
      expect(await ids({ limit: 1 })).toEqual(['run-03']);
      expect(await ids({ task: 'a' })).toEqual(['run-02', 'run-01']);
      expect(await ids({ since: new Date('2026-01-02T00:00:00Z') })).toEqual(['run-03', 'run-02']);
      expect(await store.readHistory({ id: 'run-02', limit: 1 })).toEqual([runs[2]]);
    } finally {
      await store.close();
    }
  });
});
