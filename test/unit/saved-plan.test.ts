/**
 * A saved plan's derived parts (summary, risks, dialing windows, policy report) against
 * its own task entries, and why a saved plan is stale (already applied, or not). Pure.
 */
import { describe, it, expect } from 'vitest';
import { buildPlan, type PlanInput } from '../../src/plan/plan.js';
import { planStaleness, stateRecordsPlan } from '../../src/plan/saved-plan.js';
import { derivePlanParts, policySubjects, reviewPlan } from '../../src/review/index.js';
import { editedPart, policyReportDifference } from '../../src/review/edited.js';
import { policyReport } from '../../src/policy/index.js';
import type { CallformPlan } from '../../src/model/plan.js';
import type { CallformState } from '../../src/generated/state.js';
import type { DesiredTask } from '../../src/model/task.js';
import { reviewedPlan, reviewPolicy } from '../support/review-plan.js';
import { matching } from '../support/expect.js';

const LINEAGE = '00000000-0000-4000-8000-000000000000';
const task = (id: string, over: Partial<DesiredTask> = {}): DesiredTask => ({
  userTaskID: id,
  sceneID: 'scene-1',
  taskCreateSetting: { taskName: id, startupType: 3 },
  funcFlag: { phoneEncrypt: false },
  lifecycle: {},
  source: `tasks/${id}.yaml:2`,
  ...over,
});
const applied = (t: DesiredTask) => ({
  sceneID: t.sceneID,
  taskCreateSetting: t.taskCreateSetting,
  funcFlag: t.funcFlag,
  appliedAt: '2026-01-01T00:00:00.000Z',
});
const stateOf = (serial: number, tasks: DesiredTask[]): CallformState => ({
  version: 2,
  lineage: LINEAGE,
  serial,
  tasks: Object.fromEntries(tasks.map((t) => [t.userTaskID, applied(t)])),
});
function plan(over: Partial<PlanInput>): CallformPlan {
  return buildPlan({
    desired: [],
    state: stateOf(3, []),
    stateExists: true,
    remote: null,
    targets: null,
    filesDigest: 'a'.repeat(64),
    toolVersion: '0.0.0-test',
    now: new Date('2026-11-25T00:00:00Z'),
    ...over,
  });
}
const saved = (p: CallformPlan): CallformPlan => JSON.parse(JSON.stringify(p)) as CallformPlan;

describe('derived parts of a plan', () => {
  it('a resync of an unchanged task is classified: its re-sent fields count as sent from an unknown value', () => {
    const t = task('a');
    const resynced = reviewPlan(plan({ desired: [t], state: stateOf(3, [t]), resync: true }), null);
    expect(resynced.tasks[0]).toMatchObject({ action: 'update', changes: [], resync: true });
    expect(resynced.risks!.map((r) => `${r.userTaskID} ${r.kind}`)).toEqual([
      'a phone-encrypt-off',
      'a startup-immediate',
    ]);
    expect(resynced.risks![0].message).toContain('callform does not know the previous value');
    // Without --resync the same task sends nothing and risks nothing.
    expect(reviewPlan(plan({ desired: [t], state: stateOf(3, [t]) }), null).risks).toEqual([]);
  });

  it('a plan as written reads as its own tasks say', () => {
    const p = saved(reviewedPlan());
    expect(editedPart(p)).toBeNull();
    const { summary, risks, dial_windows } = derivePlanParts(p);
    expect({ summary, risks, dial_windows }).toEqual({
      summary: p.summary,
      risks: p.risks,
      dial_windows: p.dial_windows,
    });
  });

  it('an edited summary, risk list or dialing-window view is named', () => {
    const original = saved(reviewedPlan());
    expect(original.summary.update).toBeGreaterThan(0);
    const edit = (change: (p: CallformPlan) => void) => {
      const p = structuredClone(original);
      change(p);
      return editedPart(p);
    };
    expect(edit((p) => (p.summary.update = 0))).toBe(
      `its summary says 0 to update, but its tasks have ${original.summary.update} to update`,
    );
    expect(edit((p) => (p.summary.resume = 2))).toBe('its summary says 2 to resume, but its tasks have 0 to resume');
    expect(edit((p) => (p.risks = []))).toMatch(
      /^its risks list 0 risky changes \(none\), but its tasks have \d+ risky changes \(collections-east phone-encrypt-off, /,
    );
    expect(edit((p) => (p.risks![0].message = 'nothing to see'))).toMatch(/^its risks list/);
    expect(edit((p) => (p.dial_windows = []))).toMatch(
      /^its dialing-window views are of none, but its tasks change the windows of collections-west/,
    );
    expect(edit((p) => (p.dial_windows![0].after = p.dial_windows![0].before))).toBe(
      'its dialing-window view of task collections-west is not the window change its task makes',
    );
    // A format 2.0 plan has only a summary to compare.
    expect(
      edit((p) => {
        delete p.risks;
        delete p.dial_windows;
        delete p.policy;
      }),
    ).toBeNull();
  });

  it("an edited policy report is named against the same policy's verdict on the plan's tasks", () => {
    const p = saved(reviewedPlan());
    const fresh = policyReport(reviewPolicy(), policySubjects(p));
    expect(p.policy!.violations.length).toBeGreaterThan(0);
    expect(policyReportDifference(p.policy!, fresh, false)).toBeNull();
    const edited = structuredClone(p.policy!);
    edited.violations = [];
    expect(policyReportDifference(edited, fresh, false)).toMatch(
      /^its policy report lists 0 violations and \d+ exemptions?, but the policy \(sha256 [0-9a-f]{12}\) finds \d+ violations? and/,
    );
    const exempted = structuredClone(p.policy!);
    exempted.exemptions = [];
    expect(policyReportDifference(exempted, fresh, false)).toMatch(/exemptions are not the ones the policy/);
    const previous = { ...p.policy!, previous_digest: 'b'.repeat(64) };
    expect(policyReportDifference(previous, fresh, false)).toBeNull();
    expect(policyReportDifference(previous, fresh, true)).toMatch(/previous_digest \(b{64}\) is not what the state/);
  });
});

describe('a saved plan applied again', () => {
  const a = task('a');
  const b = task('b', { taskCreateSetting: { taskName: 'b', maxCall: 3 } });
  // Planned when the state knew neither task; a, b applied since.
  const first = plan({ desired: [a, b], state: { version: 2, lineage: LINEAGE, serial: 3, tasks: {} } });

  it('is told apart from a plan that another apply overtook', () => {
    const both = stateOf(5, [a, b]);
    expect(stateRecordsPlan(first, both)).toBe(true);
    expect(planStaleness(first, both, true, first.files_digest)).toEqual({
      reason:
        'this saved plan was already applied: the state moved on since it was made (serial 3 → 5) and records its changes',
      applied: true,
    });
    // Only a applied since: another apply ran, this plan's b is still to do.
    const onlyA = stateOf(5, [a]);
    expect(stateRecordsPlan(first, onlyA)).toBe(false);
    expect(planStaleness(first, onlyA, true, first.files_digest)).toEqual({
      reason: 'the state changed since the plan was made (serial 3 → 5): another apply ran in between',
      applied: false,
    });
    // b applied with other settings: not this plan's.
    const otherB = stateOf(5, [a, task('b', { taskCreateSetting: { taskName: 'b', maxCall: 4 } })]);
    expect(planStaleness(first, otherB, true, first.files_digest)?.applied).toBe(false);
    // A change sent without confirmation is not applied.
    const pending = stateOf(5, [a, b]);
    pending.tasks.b.pending = { since: '2026-01-01T00:00:00.000Z', taskCreateSetting: { maxCall: 3 } };
    expect(planStaleness(first, pending, true, first.files_digest)?.applied).toBe(false);
  });

  it('a plan made before the first state says the state was created since; another state file is not this plan', () => {
    const fresh = plan({
      desired: [a],
      state: { version: 2, lineage: LINEAGE, serial: 0, tasks: {} },
      stateExists: false,
    });
    expect(fresh.state.lineage).toBeNull();
    expect(planStaleness(fresh, stateOf(2, [a]), true, fresh.files_digest)?.reason).toBe(
      'this saved plan was already applied: the state moved on since it was made (the state file was created since) and records its changes',
    );
    const elsewhere = { ...stateOf(4, [a]), lineage: '99999999-0000-4000-8000-000000000000' };
    expect(planStaleness(first, elsewhere, true, first.files_digest)).toMatchObject({
      reason: matching(/^the state lineage changed .*: this plan was made for another state file$/),
      applied: false,
    });
    // A current plan is not stale; a plan with nothing to do is never "already applied".
    expect(planStaleness(first, stateOf(3, []), true, first.files_digest)).toBeNull();
    const nothing = plan({ desired: [a], state: stateOf(3, [a]) });
    expect(stateRecordsPlan(nothing, stateOf(4, [a]))).toBe(false);
  });
});

describe('a saved plan applied again: the edges (mutation testing)', () => {
  const a = task('a');
  const b = task('b', { taskCreateSetting: { taskName: 'b', maxCall: 3 } });
  const first = plan({ desired: [a, b], state: { version: 2, lineage: LINEAGE, serial: 3, tasks: {} } });

  it('a state still at the plan\'s serial is the plan\'s own state: current, never "already applied"', () => {
    // Even when it holds everything the plan does, the state has not moved: nothing ran since.
    expect(stateRecordsPlan(first, stateOf(3, [a, b]))).toBe(true);
    expect(planStaleness(first, stateOf(3, [a, b]), true, first.files_digest)).toBeNull();
  });

  it('a plan made without a state, and a state created since at the same serial, is applied (the lineage moved)', () => {
    const fresh = plan({
      desired: [a],
      state: { version: 2, lineage: LINEAGE, serial: 0, tasks: {} },
      stateExists: false,
    });
    expect(fresh.state).toEqual({ lineage: null, serial: 0 });
    expect(planStaleness(fresh, stateOf(0, [a]), true, fresh.files_digest)).toEqual({
      reason:
        'this saved plan was already applied: the state moved on since it was made (the state file was created since) and records its changes',
      applied: true,
    });
  });

  it('another state file holding the same changes is not this plan applied', () => {
    const elsewhere = { ...stateOf(5, [a, b]), lineage: '99999999-0000-4000-8000-000000000000' };
    expect(stateRecordsPlan(first, elsewhere)).toBe(true);
    expect(planStaleness(first, elsewhere, true, first.files_digest)).toEqual({
      reason: `the state lineage changed (plan: ${LINEAGE}, now: 99999999-0000-4000-8000-000000000000): this plan was made for another state file`,
      applied: false,
    });
  });

  it('a forget is recorded once the task left the state', () => {
    const forget = plan({ desired: [a], state: stateOf(3, [a, b]) });
    expect(forget.tasks.map((t) => [t.userTaskID, t.action])).toEqual([
      ['a', 'noop'],
      ['b', 'forget'],
    ]);
    expect(stateRecordsPlan(forget, stateOf(4, [a]))).toBe(true);
    expect(planStaleness(forget, stateOf(4, [a]), true, forget.files_digest)?.applied).toBe(true);
    expect(stateRecordsPlan(forget, stateOf(4, [a, b]))).toBe(false);
  });

  it('a held-back (deferred) change is not work the plan does: recording it elsewhere does not make the plan applied', () => {
    const moved = task('a', { sceneID: 'scene-2', taskCreateSetting: { taskName: 'a', startupType: 3, maxCall: 9 } });
    const held = plan({ desired: [moved], state: stateOf(3, [a]) });
    expect(held.tasks[0]).toMatchObject({ action: 'update', deferred: { reason: 'error', code: 'scene-changed' } });
    // Even a state that records exactly its settings: the plan itself sends nothing.
    expect(stateRecordsPlan(held, stateOf(4, [moved]))).toBe(false);
  });

  it('an owed resume is recorded once the state no longer owes it (a state without owedResumes owes none)', () => {
    const owing: CallformState = {
      ...stateOf(3, [a]),
      owedResumes: { a: { since: '2026-01-01T00:00:00.000Z', phase: 'paused' } },
    };
    const resume = plan({ desired: [a], state: owing });
    expect(resume.resumes.map((r) => r.userTaskID)).toEqual(['a']);
    expect(stateRecordsPlan(resume, stateOf(4, [a]))).toBe(true);
    expect(stateRecordsPlan(resume, { ...stateOf(4, [a]), owedResumes: {} })).toBe(true);
    expect(stateRecordsPlan(resume, { ...owing, serial: 4 })).toBe(false);
  });
});
