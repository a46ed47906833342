/**
 * The state backend seam without a database: the `state` setting resolved and refused, the
 * file backend's history file, the history records and their selection, and the writer's
 * abort (the lost-lock path) ending promptly.
 */
import { describe, it, expect, vi } from 'vitest';
import path from 'node:path';
import { appendFile, readFile } from 'node:fs/promises';
import { resolveStateSetting, openStateBackend } from '../../src/state/backend.js';
import { loadSettings } from '../../src/config/settings.js';
import { historyRun, selectRuns, type HistoryRun } from '../../src/state/history.js';
import { StateWriter } from '../../src/state/writer.js';
import { emptyState } from '../../src/state/state.js';
import { CallformError } from '../../src/errors.js';
import type { CallformPlan } from '../../src/model/plan.js';
import type { ApplyResult } from '../../src/apply/apply.js';
import { tempDir, tempTree } from '../support/temp.js';
import { PostgresStateBackend } from '../../src/state/postgres-backend.js';
import { openSelection } from '../../src/workflow/environments.js';

describe('the state setting', () => {
  it('a string or nothing is the file backend; an object is postgres with defaults', () => {
    expect(resolveStateSetting(undefined, '/p')).toEqual({ backend: 'file', path: '/p/callform.state.json' });
    expect(resolveStateSetting('s/x.json', '/p')).toEqual({ backend: 'file', path: '/p/s/x.json' });
    expect(resolveStateSetting({ backend: 'postgres' }, '/p')).toEqual({
      backend: 'postgres',
      urlEnv: 'CALLFORM_DATABASE_URL',
      schema: 'callform',
      name: 'default',
      skipSchemaCreation: false,
    });
    expect(resolveStateSetting({ backend: 'postgres' }, '/p', 'prod')).toMatchObject({ name: 'prod' });
    expect(resolveStateSetting({ backend: 'postgres', name: 'x' }, '/p', 'prod')).toMatchObject({ name: 'x' });
  });

  it('a wrong backend or field is refused with file:line:col and the allowed fields', async () => {
    const dir = await tempTree(
      { 'callform.config.yaml': 'state:\n  backend: postgress\n  nme: prod\n' },
      'callform-state-setting-',
    );
    const err = await loadSettings({ cwd: dir, env: {} }).then(
      () => new Error('accepted'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain('callform.config.yaml:2:12: state.backend: must be "postgres"; got "postgress"');
    expect(err.message).toContain('callform.config.yaml:3:3: state.nme: unknown field "nme" (did you mean "name"?)');
    expect(err.message).not.toContain('must be string');
  });

  it('postgres without its URL variable says which variable to set', async () => {
    const store = await openStateBackend(
      { backend: 'postgres', urlEnv: 'MY_DB_URL', schema: 'callform', name: 'default', skipSchemaCreation: false },
      { cwd: '/', env: {} },
    );
    await expect(store.read()).rejects.toThrow(/the state is in PostgreSQL but MY_DB_URL is not set/);
    await store.close();
  });

  it('a URL variable that holds no connection URL is named as such, before any connection', async () => {
    const setting = { backend: 'postgres', urlEnv: 'MY_DB_URL', schema: 'callform', name: 'default' } as const;
    const store = await openStateBackend(
      { ...setting, skipSchemaCreation: false },
      { cwd: '/', env: { MY_DB_URL: 'base' } },
    );
    await expect(store.read()).rejects.toThrow(
      'MY_DB_URL is not a PostgreSQL connection URL (it must start with postgres:// or postgresql://)',
    );
    await store.close();
  });
});

const plan = {
  tasks: [
    {
      userTaskID: 'a',
      action: 'update',
      changes: [{ path: 'taskCreateSetting.maxCall', kind: 'change', before: 2, after: 5 }],
    },
    { userTaskID: 'b', action: 'update', changes: [{ path: 'funcFlag.taskKeep', kind: 'add', after: true }] },
    { userTaskID: 'c', action: 'noop' },
  ],
} as unknown as CallformPlan;

function result(outcomes: Record<string, ApplyResult['results'][number]['outcome']>, interrupted = false): ApplyResult {
  const counts = { created: 0, applied: 0, blocked: 0, failed: 0, unchanged: 0, forgotten: 0, skipped: 0, resumed: 0 };
  const results = Object.entries(outcomes).map(([userTaskID, outcome]) => {
    counts[outcome]++;
    return {
      userTaskID,
      outcome,
      calls: 1,
      warnings: [],
      ...(outcome === 'failed' ? { retCode: 3, message: 'no' } : {}),
    };
  });
  return { results, counts, interrupted, updateCalls: results.length, createCalls: 0 };
}

const ctx = (startedAt: string) => ({
  state: 'callform.state.json',
  environment: null,
  startedAt: new Date(startedAt),
  env: { GITHUB_ACTOR: 'octo', USER: 'root' },
  commit: 'abc',
});

describe('history records', () => {
  it('outcome, actor, before → after, and failures with their retCode', () => {
    const partial = historyRun(
      plan,
      result({ a: 'applied', b: 'failed', c: 'unchanged' }),
      ctx('2026-01-01T00:00:00Z'),
    );
    expect(partial).toMatchObject({ outcome: 'partial', actor: 'octo', commit: 'abc', error: null });
    expect(partial.tasks.map((t) => t.userTaskID)).toEqual(['a', 'b']); // unchanged tasks are not recorded
    expect(partial.tasks[0].changes).toEqual([{ field: 'taskCreateSetting.maxCall', before: 2, after: 5 }]);
    expect(partial.tasks[1]).toMatchObject({ outcome: 'failed', retCode: 3, message: 'no' });
    expect(partial.tasks[1].changes[0]).toEqual({ field: 'funcFlag.taskKeep', before: null, after: true });
    expect(historyRun(plan, result({ a: 'applied' }), ctx('2026-01-01T00:00:00Z')).outcome).toBe('complete');
    expect(historyRun(plan, result({ a: 'skipped' }, true), ctx('2026-01-01T00:00:00Z')).outcome).toBe('interrupted');
    expect(historyRun(plan, result({}), ctx('2026-01-01T00:00:00Z'), 'database gone').outcome).toBe('failed');
  });

  it('selects newest first, by task, since and limit', () => {
    const runs: HistoryRun[] = ['2026-01-01', '2026-01-03', '2026-01-02'].map((d, i) =>
      historyRun(plan, result(i === 1 ? { b: 'applied' } : { a: 'applied' }), ctx(`${d}T00:00:00Z`)),
    );
    expect(selectRuns(runs, { limit: 10 }).map((r) => r.startedAt.slice(0, 10))).toEqual([
      '2026-01-03',
      '2026-01-02',
      '2026-01-01',
    ]);
    expect(selectRuns(runs, { limit: 1 })).toHaveLength(1);
    expect(selectRuns(runs, { limit: 10, task: 'a' }).map((r) => r.startedAt.slice(0, 10))).toEqual([
      '2026-01-02',
      '2026-01-01',
    ]);
    expect(selectRuns(runs, { limit: 10, since: new Date('2026-01-02') })).toHaveLength(2);
    expect(selectRuns(runs, { limit: 10, id: runs[2].id })[0].id).toBe(runs[2].id);
  });

  it('the file backend appends one fsynced line per run beside the state, and skips a torn last line', async () => {
    const dir = await tempDir('callform-history-');
    const file = path.join(dir, 'callform.state.json');
    const store = await openStateBackend({ backend: 'file', path: file }, { cwd: dir, env: {} });
    const run = historyRun(plan, result({ a: 'applied' }), ctx('2026-01-01T00:00:00Z'));
    await store.appendHistory(run);
    await appendFile(`${file}.history.jsonl`, '{"id": "torn');
    expect((await readFile(`${file}.history.jsonl`, 'utf8')).split('\n')[0]).toBe(JSON.stringify(run));
    expect(await store.readHistory({ limit: 5 })).toEqual([run]);
  });
});

describe('StateWriter.abort (the lock is lost)', () => {
  it('ends the run promptly: flush throws the reason, nothing more is written', async () => {
    const writes: number[] = [];
    const writer = new StateWriter('x', emptyState(), (_p, s) => {
      writes.push(s.serial);
      return Promise.resolve();
    });
    writer.recordPolicy('d1');
    await writer.flush();
    const lost = new CallformError('lost the connection to the database that holds the state lock');
    writer.abort(lost);
    expect(writer.failed).toBe(true);
    writer.recordPolicy('d2'); // a confirmation landing after the loss
    await expect(writer.flush()).rejects.toBe(lost);
    expect(writes).toEqual([1]);
  });
});

describe('openSelection', () => {
  it('closes the top-level store when an environment with a store of its own is chosen', async () => {
    const dir = await tempTree(
      {
        'callform.config.yaml': [
          'state: { backend: postgres, name: top }',
          'environments:',
          '  staging:',
          '    credentials: { uuid: U_STAGING, secretKey: S_STAGING }',
          '    state: staging.state.json',
        ].join('\n'),
      },
      'callform-selection-',
    );
    const closed = vi.spyOn(PostgresStateBackend.prototype, 'close');
    try {
      const selected = await openSelection({
        cwd: dir,
        env: {},
        choice: { env: 'staging' },
        command: { name: 'plan', allowAll: true },
      });
      expect(selected.kind === 'one' && selected.project.state.kind).toBe('file');
      expect(closed).toHaveBeenCalledTimes(1);
    } finally {
      closed.mockRestore();
    }
  });
});
