import { describe, it, expect } from 'vitest';
import { renderRunList, renderTaskHistory } from '../../src/render/history.js';
import type { HistoryRun } from '../../src/state/history.js';

const counts = { created: 0, applied: 0, blocked: 0, failed: 0, unchanged: 0, forgotten: 0, skipped: 0, resumed: 0 };

function run(id: string, actor: string | null, over: Partial<HistoryRun['counts']>): HistoryRun {
  return {
    id,
    state: 'callform.state.json',
    environment: null,
    startedAt: '2026-12-06T09:00:00.000Z',
    finishedAt: '2026-12-06T09:00:01.000Z',
    actor,
    commit: null,
    ciRunUrl: null,
    planDigest: 'd',
    counts: { ...counts, ...over },
    outcome: 'complete',
    error: null,
    tasks: [
      {
        userTaskID: 'renewals-north',
        action: 'update',
        outcome: 'applied',
        retCode: null,
        message: null,
        changes: [{ field: 'taskCreateSetting.maxCall', before: 2, after: 3 }],
        pausedMs: null,
      },
    ],
  };
}

describe('history rendering', () => {
  const runs = [run('r2', 'ops-bob', { applied: 1 }), run('r1', 'ops-alice', { created: 2, applied: 0 })];

  it('lines the columns up after actors of different lengths', () => {
    const lines = renderRunList(runs).trimEnd().split('\n');
    expect(lines[0]).toContain('ops-bob    -  complete');
    expect(lines[1]).toContain('ops-alice  -  complete');
    const [a, b] = renderTaskHistory('renewals-north', runs)
      .split('\n')
      .filter((l) => l.startsWith('2026'));
    expect(a.indexOf(' -  update')).toBe(b.indexOf(' -  update'));
  });

  it('counts created tasks (a run that only creates does not read as "0 applied" alone)', () => {
    expect(renderRunList(runs)).toContain('2 created, 0 applied, 0 failed, 0 blocked  r1');
    expect(renderRunList(runs)).not.toContain('created, 1 applied');
    expect(renderRunList([run('r3', null, {})])).toContain('?  -  complete     0 applied');
  });
});
