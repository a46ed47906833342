import { describe, it, expect } from 'vitest';
import { expectGolden } from '../support/golden.js';
import { parseJson } from '../support/json.js';
import { buildPlan } from '../../src/plan/plan.js';
import { reviewPlan } from '../../src/review/index.js';
import {
  ALL_ENVS_BUDGET,
  renderAllEnvsMarkdown,
  renderAllEnvsJson,
  renderAllEnvsText,
  type EnvironmentPlan,
} from '../../src/render/environments.js';
import { MARKDOWN_MARKER } from '../../src/render/markdown.js';
import type { DesiredTask } from '../../src/model/task.js';
import type { CallformPlan } from '../../src/model/plan.js';

type PolicyReport = CallformPlan['policy'];

const NOW = new Date('2026-11-25T12:00:00Z');
const LINEAGE = '11111111-2222-4333-8444-555555555555';

const task = (id: string, maxCall: number): DesiredTask => ({
  userTaskID: id,
  sceneID: 'scene-renewal-v3',
  taskCreateSetting: { taskName: `Renewals ${id}`, maxCall, maxRingTime: 30 },
  funcFlag: { taskKeep: true },
  lifecycle: {},
  source: `tasks/${id}.yaml:3`,
});

/** `count` tasks whose maxCall moves 5 → 10; the ids in `risky` to 100 (a risk callout). */
function envPlan(name: string, count: number, risky: string[] = [], policy: PolicyReport = null): EnvironmentPlan {
  const ids = Array.from({ length: count }, (_, i) => `${name}-task-${String(i).padStart(4, '0')}`);
  const desired = ids.map((id) => task(id, risky.includes(id) ? 100 : 10));
  const built = buildPlan({
    desired,
    state: {
      version: 1,
      lineage: LINEAGE,
      serial: 3,
      tasks: Object.fromEntries(
        ids.map((id) => [
          id,
          {
            sceneID: 'scene-renewal-v3',
            taskID: `T-${id}`,
            taskCreateSetting: { taskName: `Renewals ${id}`, maxCall: 5, maxRingTime: 30 },
            funcFlag: { taskKeep: true },
            appliedAt: NOW.toISOString(),
          },
        ]),
      ),
    },
    stateExists: true,
    remote: null,
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: '0.1.0',
    now: NOW,
  });
  return { name, plan: { ...reviewPlan(built, policy ?? null), environment: name } };
}

const blockingPolicy = (id: string): PolicyReport => ({
  digest: 'a'.repeat(64),
  sources: ['policies/prod.yaml'],
  rules: 1,
  violations: [
    {
      rule: 'prod-max-call',
      kind: 'maxCall',
      severity: 'error',
      userTaskID: id,
      source: `tasks/${id}.yaml:3`,
      path: 'taskCreateSetting.maxCall',
      finding: 'maxCall is 100, above the maximum 50',
      message: 'prod tasks dial at most 50 at once',
    },
  ],
  exemptions: [],
});

describe('the all-environments Markdown comment', () => {
  it('renders a small plan whole: header, summary table, callouts, unchanged line, one section per environment', async () => {
    const envs = [envPlan('staging', 2, ['staging-task-0001']), envPlan('qa', 0), envPlan('prod', 1)];
    const md = renderAllEnvsMarkdown(envs);
    expect(
      md.startsWith(`${MARKDOWN_MARKER}\n### callform plan: 3 environments, 2 with changes, 0 with errors\n`),
    ).toBe(true);
    await expectGolden(md, 'plan-all-envs.md');
  });

  it('keeps 3 environments × 2,000 changed tasks under 60,000 characters without losing the summary, a risk or a policy error', async () => {
    const envs = [
      envPlan('staging', 2000, ['staging-task-1500']),
      envPlan('canary', 2000),
      envPlan('prod', 2000, ['prod-task-0007', 'prod-task-1999'], blockingPolicy('prod-task-0007')),
    ];
    const md = renderAllEnvsMarkdown(envs);
    expect(md.length).toBeLessThanOrEqual(ALL_ENVS_BUDGET);
    expect(md).toContain('### callform plan: 3 environments, 3 with changes, 1 with errors');
    for (const row of [
      '| staging | 2000 | 0 | 0 | 1 | 0 |',
      '| canary | 2000 | 0 | 0 | 0 | 0 |',
      '| prod | 2000 | 0 | 0 | 2 | 1 |',
    ])
      expect(md).toContain(row);
    // Every risk callout names its environment and its tasks; the policy error is listed.
    expect(md).toMatch(
      /> ⚠️ \*\*staging: risky changes in 1 task[^\n]*\n>\n> - \*\*maxCall raised sharply\*\*: `staging-task-1500`/,
    );
    expect(md).toMatch(
      /> ⚠️ \*\*prod: risky changes in 2 tasks[^\n]*\n>\n> - \*\*maxCall raised sharply\*\*: `prod-task-0007`, `prod-task-1999`/,
    );
    expect(md).toContain('> ❌ **prod: 1 policy violation at error level');
    expect(md).toContain('prod-max-call');
    // Shrunk to one line per task, then the middle cut with a visible line, in each section.
    expect(md).toMatch(/_… \d+ tasks omitted, see the full plan/);
    expect(md).not.toContain('| Field | Change | Before | After |');
    // Sections open where there are risks or errors; every <details> is closed.
    expect(md).toContain('<details open><summary><b>prod</b>');
    expect(md).toContain('<details><summary><b>canary</b>');
    expect(md.split('<details').length).toBe(md.split('</details>').length);
    await expectGolden(md, 'plan-all-envs-6000.md');
  });

  it('holds the budget when the policy errors alone would not fit: grouped per rule, none left out', () => {
    const envs = ['staging', 'canary', 'prod'].map((name) => {
      const e = envPlan(name, 2000);
      const ids = e.plan.tasks.map((t) => t.userTaskID);
      const one = blockingPolicy('x');
      const policy: PolicyReport = {
        ...one!,
        violations: ids.map((id) => ({ ...one!.violations[0], userTaskID: id, source: `tasks/${id}.yaml:3` })),
      };
      return { ...e, plan: { ...e.plan, policy } };
    });
    const md = renderAllEnvsMarkdown(envs);
    expect(md.length).toBeLessThanOrEqual(ALL_ENVS_BUDGET);
    for (const name of ['staging', 'canary', 'prod']) {
      expect(md).toContain(`| ${name} | 2000 | 0 | 0 | 0 | 2000 |`);
      expect(md).toContain(`> ❌ **${name}: 2000 policy violations at error level: apply will refuse this plan.**`);
      expect(md).toContain(`> - **[prod-max-call]** 2000 violations: \`${name}-task-0000\`, \`${name}-task-0001\`, `);
    }
    expect(md).toContain('and 1990 more — prod tasks dial at most 50 at once');
    // A few violations still get a line each.
    const few = renderAllEnvsMarkdown([envPlan('prod', 3, [], blockingPolicy('prod-task-0001'))]);
    expect(few).toContain('> - tasks/prod-task-0001.yaml:3: prod-task-0001 [prod-max-call] maxCall is 100');
  });

  it('drops field tables of tasks without risks first, keeping the risky task whole', () => {
    const envs = [envPlan('staging', 150, ['staging-task-0003'])];
    const full = renderAllEnvsMarkdown(envs, 1_000_000);
    const shrunk = renderAllEnvsMarkdown(envs, Math.floor(full.length / 2));
    expect(full.split('| Field | Change | Before | After |').length - 1).toBe(150);
    expect(shrunk.split('| Field | Change | Before | After |').length - 1).toBe(1);
    expect(shrunk).toContain('<details><summary><code>staging-task-0003</code>');
    expect(shrunk).toContain('- `staging-task-0004`: 🟡 update (1 field)');
    expect(shrunk).not.toContain('omitted');
  });

  it('renders text (a section per environment and a total) and one JSON document', () => {
    const envs = [envPlan('staging', 2), envPlan('prod', 0)];
    const text = renderAllEnvsText(envs);
    expect(text).toContain('== environment staging\n');
    expect(text).toContain('== environment prod\n');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'All environments: 2 environments, 1 with changes, 0 with errors; 2 to update, 0 blocked, 0 in error.',
    );
    const json = JSON.parse(renderAllEnvsJson(envs)) as {
      kind: string;
      summary: Array<{ environment: string; update: number }>;
      environments: Array<{ name: string; plan: { kind: string; environment: string } }>;
    };
    expect(json.kind).toBe('callform-all-envs-plan');
    expect(json.summary.map((s) => [s.environment, s.update])).toEqual([
      ['staging', 2],
      ['prod', 0],
    ]);
    expect(json.environments.map((e) => [e.name, e.plan.kind, e.plan.environment])).toEqual([
      ['staging', 'callform-plan', 'staging'],
      ['prod', 'callform-plan', 'prod'],
    ]);
  });
});

/** One environment whose only task is missing remotely (an online plan): it will be created. */
function createPlan(name: string): EnvironmentPlan {
  const built = buildPlan({
    desired: [task(`${name}-new`, 3)],
    state: { version: 1, lineage: LINEAGE, serial: 1, tasks: {} },
    stateExists: true,
    remote: new Map(),
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: '0.1.0',
    now: NOW,
  });
  return { name, plan: { ...reviewPlan(built, null), environment: name } };
}

describe('the all-environments outputs with tasks to create', () => {
  it('adds a Create column, a create count in the JSON summary and in the text total, only when some environment creates', () => {
    const envs = [createPlan('staging'), envPlan('prod', 1)];
    expect(envs[0].plan.summary.create).toBe(1);
    const md = renderAllEnvsMarkdown(envs);
    expect(md).toContain('| Environment | Create | Update | Blocked | Error | Risks | Policy errors |');
    expect(md).toContain('| staging | 1 | 0 | 0 | 0 | 1 | 0 |');
    expect(md).toContain('| prod | 0 | 1 | 0 | 0 | 0 | 0 |');
    const json = parseJson<{ summary: { environment: string; create?: number }[] }>(renderAllEnvsJson(envs));
    expect(json.summary.map((s) => [s.environment, s.create])).toEqual([
      ['staging', 1],
      ['prod', undefined],
    ]);
    expect(renderAllEnvsText(envs)).toContain('1 to create, 1 to update');
    const without = renderAllEnvsMarkdown([envPlan('prod', 1)]);
    expect(without).toContain('| Environment | Update | Blocked |');
  });
});
