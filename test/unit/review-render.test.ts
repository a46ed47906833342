import { describe, it, expect, beforeEach } from 'vitest';
import { expectGolden } from '../support/golden.js';
import { renderPlanMarkdown } from '../../src/render/markdown.js';
import { renderPlanText } from '../../src/render/text.js';
import { renderPlanJson } from '../../src/render/json.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { reviewedPlan } from '../support/review-plan.js';
import type { CallformPlan } from '../../src/model/plan.js';
import { parseJson } from '../support/json.js';

describe('review renderings (risks, dialing windows, policy)', () => {
  // Built per test, not while collecting: code run outside a test is a "static" mutant for
  // `npm run mutate`, which then reruns every test for it (docs/testing.md).
  let plan: ReturnType<typeof reviewedPlan>;
  beforeEach(() => {
    plan = reviewedPlan();
  });

  it('markdown: opens with the risk block naming the tasks, then the policy table, then grids in the task sections', async () => {
    const md = renderPlanMarkdown(plan);
    const [risk, summary, policy, table] = [
      'Risky changes in',
      '**7 to update, 1 blocked',
      'violations at error level',
      '| Task | Action |',
    ].map((s) => md.indexOf(s));
    expect(risk).toBeGreaterThan(0);
    expect(risk).toBeLessThan(summary);
    expect(summary).toBeLessThan(policy);
    expect(policy).toBeLessThan(table);
    expect(md).toContain('Mon ................+.+.####......######+.+.+.+.....');
    expect(md).not.toContain('s3cret');
    await expectGolden(md, 'plan-review.md');
  });

  it('text: window lines in the task blocks, policy and risk callouts above the summary', async () => {
    const text = renderPlanText(plan);
    expect(text).toContain(
      '    dialing window (GMT+8): Mon–Fri 10:00–12:00, 15:00–18:00 → Mon–Fri 08:00–08:30, 09:00–09:30, 10:00–12:00, 15:00–18:30, 19:00–19:30, 20:00–20:30, 21:00–21:30',
    );
    expect(text.indexOf('Risky changes (')).toBeLessThan(text.indexOf('Plan: '));
    expect(text).not.toContain('s3cret');
    await expectGolden(text, 'plan-review.txt');
  });

  it('json: risks, dial_windows and policy as structured data, valid format 2.2', async () => {
    const json = renderPlanJson(plan);
    const parsed = parseJson<CallformPlan>(json);
    expect(validatePlan(parsed), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(parsed.format_version).toBe('2.2');
    expect(parsed.dial_windows?.find((w) => w.userTaskID === 'collections-west')).toEqual({
      userTaskID: 'collections-west',
      before: { zoneSecond: 28800, days: [1, 2, 3, 4, 5], hours: ['10:00-12:00', '15:00-18:00'] },
      after: {
        zoneSecond: 28800,
        days: [1, 2, 3, 4, 5],
        hours: [
          '08:00-08:30',
          '09:00-09:30',
          '10:00-12:00',
          '15:00-18:30',
          '19:00-19:30',
          '20:00-20:30',
          '21:00-21:30',
        ],
      },
      added: [
        {
          days: [1, 2, 3, 4, 5],
          hours: ['08:00-08:30', '09:00-09:30', '18:00-18:30', '19:00-19:30', '20:00-20:30', '21:00-21:30'],
        },
      ],
      removed: [],
    });
    expect(json).not.toContain('s3cret');
    await expectGolden(json, 'plan-review.json');
  });

  it('a plan with nothing to do still shows the policy result', () => {
    const text = renderPlanText({
      ...plan,
      tasks: [],
      summary: { update: 0, noop: 3, blocked: 0, forget: 0, error: 0, resume: 0 },
      risks: [],
    });
    expect(text).toMatch(
      /^Policy: 4 rules from policies\/base\.yaml \(sha256 abababababab\): 3 errors, 1 warning, 1 exemption\n/,
    );
    expect(text).toContain('No changes. 3 tasks match the state.');
  });
});
