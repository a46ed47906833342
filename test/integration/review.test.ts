/**
 * Review features through the real CLI against the simulator: dialWindow end to end,
 * risk gates (--fail-on-risk with and without --detailed-exitcode), policy checks in
 * validate and plan, and the policy re-checked at apply time (fresh and saved plans).
 */
import { rm } from 'node:fs/promises';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import type { CallformPlan } from '../../src/model/plan.js';
import { parseJson } from '../support/json.js';

/** The parts of a saved plan the test edits. */
type Settings = { taskCreateSetting: Record<string, unknown> };
type ConsistentlyEditablePlan = {
  tasks: Array<{
    userTaskID: string;
    before: Settings;
    after: Settings;
    payload: Settings;
    changes: Array<{ path: string; after: unknown }>;
    warnings: string[];
  }>;
};

const IDS = ['west', 'east'];
let sim: Simulator;
let project: TempProject;
let env: Record<string, string>;
let sent: Array<{ userTaskID: string; taskCreateSetting?: Record<string, unknown> }>;

const POLICY_CAP = (max: number, severity = 'error') => `rules:
  - name: robot-concurrency
    kind: maxCall
    max: ${max}
    severity: ${severity}
    message: the contract allows ${max} robots per task
  - name: calling-hours
    kind: dialingHours
    between: "08:00-21:00"
    severity: error
    message: no calls outside 08:00-21:00 local time
`;

async function writeTasks(west: Record<string, unknown> = {}, east: Record<string, unknown> = {}) {
  await project.write(
    'tasks/campaign.yaml',
    `defaults:
  taskCreateSetting:
    zoneSecond: 28800
    maxCall: 10
    dialWindow:
      days: Mon-Fri
      hours: ["10:00-12:00", "15:00-18:00"]
tasks:
  - userTaskID: west
    sceneID: scene-1
    taskCreateSetting: ${JSON.stringify({ taskName: 'West', ...west })}
  - userTaskID: east
    sceneID: scene-1
    taskCreateSetting: ${JSON.stringify({ taskName: 'East', ...east })}
`,
  );
}

beforeEach(async () => {
  sim = await startSimulator({
    seed: { tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskStatus: 1 })) },
  });
  sent = [];
  sim.onRequest = (endpoint, body) => {
    if (endpoint === 'updateTask') sent.push(body as (typeof sent)[number]);
  };
  env = { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
  project = await tempProject({ policyFiles: 'policies/*.yaml' });
  await project.write('policies/base.yaml', POLICY_CAP(50));
  await writeTasks();
});
afterEach(async () => {
  await sim.close();
  await rm(project.dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, { cwd: project.dir, env });

describe('dialWindow end to end', () => {
  it('sends and records the raw fields; the next plan is empty', async () => {
    const applied = await cli('apply', '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    expect(sent.find((b) => b.userTaskID === 'west')!.taskCreateSetting).toMatchObject({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '10,11,15,16,17',
      dialAtDownHour: '10,11,15,16,17',
    });
    expect(JSON.stringify(sent)).not.toContain('dialWindow');
    const state = await project.state();
    expect(state.tasks.west.taskCreateSetting).toMatchObject({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '10,11,15,16,17',
      dialAtDownHour: '10,11,15,16,17',
    });
    expect(JSON.stringify(state)).not.toContain('dialWindow');
    expect((await cli('plan', '--detailed-exitcode')).code).toBe(0);
  });
});

describe('risk gate: --fail-on-risk', () => {
  beforeEach(async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
  });

  it('exits 4 on a risky change, in every format, and lists the callouts', async () => {
    await writeTasks({ dialWindow: { hours: ['08:00-12:00', '15:00-18:00'] } });
    const text = await cli('plan', '--fail-on-risk');
    expect(text.code).toBe(4);
    expect(text.stdout).toContain(
      'dialing window (GMT+8): Mon–Fri 10:00–12:00, 15:00–18:00 → Mon–Fri 08:00–12:00, 15:00–18:00',
    );
    expect(text.stdout).toMatch(
      /Risky changes \(1\):\n {2}⚠ west: dialing window widened: adds Mon–Fri 08:00–10:00\n\nPlan: 1 to update/,
    );
    const md = await cli('plan', '--fail-on-risk', '--format', 'markdown');
    expect(md.code).toBe(4);
    expect(md.stdout).toMatch(/^<!-- callform-plan -->\n### callform plan\n\n> ⚠️ \*\*Risky changes in 1 task/);
    expect(md.stdout).toContain('Mon ................++++####......######............');
    const json = await cli('plan', '--fail-on-risk', '--format', 'json');
    expect(json.code).toBe(4);
    const plan = parseJson<CallformPlan>(json.stdout);
    expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(plan.risks).toEqual([
      {
        userTaskID: 'west',
        kind: 'dial-window-widened',
        message: 'dialing window widened: adds Mon–Fri 08:00–10:00',
        source: 'tasks/campaign.yaml:9',
      },
    ]);
  });

  it('combines with --detailed-exitcode: 4 risky, 2 changes without risk, 0 nothing; a policy error is 1 over both', async () => {
    expect((await cli('plan', '--fail-on-risk', '--detailed-exitcode')).code).toBe(0);
    await writeTasks({ maxCall: 12 });
    expect((await cli('plan', '--fail-on-risk', '--detailed-exitcode')).code).toBe(2);
    expect((await cli('plan', '--fail-on-risk')).code).toBe(0);
    await writeTasks({ maxCall: 45 });
    expect((await cli('plan', '--fail-on-risk', '--detailed-exitcode')).code).toBe(4);
    expect((await cli('plan', '--detailed-exitcode')).code).toBe(2);
    await writeTasks({ maxCall: 90 });
    const blocked = await cli('plan', '--fail-on-risk', '--detailed-exitcode');
    expect(blocked.code).toBe(1);
  });
});

describe('policy in validate and plan', () => {
  it('validate: warnings pass, errors fail with file:line and the rule name', async () => {
    await project.write('policies/base.yaml', POLICY_CAP(5, 'warn'));
    const warned = await cli('validate');
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(
      'policy warning: tasks/campaign.yaml:9: west [robot-concurrency] maxCall is 10, above the maximum 5 — the contract allows 5 robots per task',
    );
    expect(warned.stdout).toMatch(
      /Valid: 2 tasks in 1 file\.\nPolicy: 2 rules from policies\/base\.yaml \(sha256 [0-9a-f]{12}\): 0 errors, 2 warnings, 0 exemptions\.\n/,
    );
    await project.write('policies/base.yaml', POLICY_CAP(5, 'error'));
    const failed = await cli('validate');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      'Error: 2 policy violations at error level:\n  tasks/campaign.yaml:12: east [robot-concurrency] maxCall is 10, above the maximum 5',
    );
    expect(failed.stderr).toContain(
      '\n  tasks/campaign.yaml:9: west [robot-concurrency] maxCall is 10, above the maximum 5 — the contract allows 5 robots per task\n',
    );
    expect(failed.stdout).toBe('');
  });

  it('validate prints lint warnings for lone half-hour slots, located', async () => {
    await writeTasks({ dialWindow: undefined, dialAtWeekDay: '1', dialAtUpHour: '10,19', dialAtDownHour: '10' });
    // A raw field next to the defaults' dialWindow: the task's own values win, field by field.
    const res = await cli('validate');
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('warning: tasks/campaign.yaml:11:');
    expect(res.stderr).toContain('19:00–19:30 on Mon: a lone half-hour slot');
  });

  it('plan: an error-level violation is shown in every format and exits 1, --out is still written', async () => {
    await writeTasks({ maxCall: 80 });
    const text = await cli('plan', '--out', 'plan.cfplan');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'x tasks/campaign.yaml:9: west [robot-concurrency] maxCall is 80, above the maximum 50',
    );
    expect(text.stderr).toContain('Error: the plan has 1 policy violation at error level; apply will refuse it');
    expect(parseJson<CallformPlan>(await project.read('plan.cfplan')).policy?.violations).toHaveLength(1);
    const md = await cli('plan', '--format', 'markdown');
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('> ❌ **Policy: 1 violation at error level: apply will refuse this plan.**');
    const json = parseJson<CallformPlan>((await cli('plan', '--format', 'json')).stdout);
    expect(json.policy?.violations[0]).toMatchObject({
      rule: 'robot-concurrency',
      severity: 'error',
      userTaskID: 'west',
      source: 'tasks/campaign.yaml:9',
      path: 'taskCreateSetting.maxCall',
    });
  });
});

describe('policy at apply time', () => {
  it('refuses a fresh apply with an error-level violation: nothing sent, no state', async () => {
    await writeTasks({ maxCall: 80 });
    const res = await cli('apply', '--auto-approve');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('apply refused: 1 policy violation at error level');
    expect(res.stderr).toContain('no option overrides a policy');
    expect(sent).toEqual([]);
    await expect(project.read('callform.state.json')).rejects.toThrow();
  });

  it('refuses a saved plan when the policy files changed since the plan and now forbid it', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ maxCall: 40 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    const stateBefore = await project.read('callform.state.json');
    await project.write('policies/base.yaml', POLICY_CAP(30));
    sent = [];
    const res = await cli('apply', 'plan.cfplan');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /warning: the policy files changed since the plan was made \(plan: sha256 [0-9a-f]{12}, now: sha256 [0-9a-f]{12}\); checking the plan against the current policy/,
    );
    expect(res.stderr).toContain('apply refused (the policy files changed since the plan was made');
    expect(res.stderr).toContain('west [robot-concurrency] maxCall is 40, above the maximum 30');
    expect(sent).toEqual([]);
    expect(await project.read('callform.state.json')).toBe(stateBefore);
  });

  it('applies a saved plan whose policy changed but still passes, saying so', async () => {
    await writeTasks({ maxCall: 40 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    await project.write('policies/base.yaml', POLICY_CAP(45));
    const res = await cli('apply', 'plan.cfplan');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('the policy files changed since the plan was made');
    expect(sent.map((b) => b.userTaskID).sort()).toEqual(['east', 'west']);
  });

  it('the state records the policy an apply ran under; the next plan says when the policy files changed since', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    const recorded = (await project.state()).policyDigest;
    expect(recorded).toMatch(/^[0-9a-f]{64}$/);
    expect((await cli('plan')).stdout).not.toContain('changed since the last apply');
    await project.write('policies/base.yaml', POLICY_CAP(45));
    const text = await cli('plan');
    expect(text.stdout).toContain(
      `the policy files changed since the last apply (it ran under sha256 ${(recorded ?? '').slice(0, 12)})`,
    );
    const json = parseJson<CallformPlan>((await cli('plan', '--format', 'json')).stdout);
    expect(json.policy).toMatchObject({ previous_digest: recorded });
    expect(json.policy?.digest).not.toBe(recorded);
    expect((await cli('plan', '--format', 'markdown')).stdout).toContain('changed since the last apply');
  });

  it('refuses a saved plan whose payload was edited (it would send what the review did not show)', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ maxCall: 12 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    const original = parseJson<ConsistentlyEditablePlan>(await project.read('plan.cfplan'));
    // The payload alone: the entry contradicts its own changes (show refuses it too).
    const plan = structuredClone(original);
    plan.tasks.find((t) => t.userTaskID === 'west')!.payload.taskCreateSetting.maxCall = 500;
    await project.write('plan.cfplan', JSON.stringify(plan));
    sent = [];
    for (const command of ['apply', 'show']) {
      const res = await cli(command, 'plan.cfplan');
      expect(res.code, command).toBe(1);
      expect(res.stderr, command).toContain(
        'plan.cfplan: task west: its payload is not the values of the fields it sends: the plan file was edited',
      );
    }
    // after, changes and payload edited together: the entry agrees with itself, not with the files.
    const west = original.tasks.find((t) => t.userTaskID === 'west')!;
    west.after.taskCreateSetting.maxCall = 13;
    west.changes.find((c) => c.path === 'taskCreateSetting.maxCall')!.after = 13;
    west.payload.taskCreateSetting.maxCall = 13;
    await project.write('plan.cfplan', JSON.stringify(original));
    expect((await cli('show', 'plan.cfplan')).code).toBe(0);
    const res = await cli('apply', 'plan.cfplan');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'saved plan does not match its task files and state: task west would do something else (its payload differs): the plan file was edited',
    );
    expect(sent).toEqual([]);
  });

  it('refuses a saved plan whose before, or whose delayed-effect warning, was edited', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ maxCall: 12 });
    const campaign = await project.read('tasks/campaign.yaml');
    await project.write(
      'tasks/campaign.yaml',
      campaign.replace('    taskCreateSetting: {"taskName":"West"', '    funcFlag: { phoneEncrypt: true }\n$&'),
    );
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    const original = parseJson<ConsistentlyEditablePlan>(await project.read('plan.cfplan'));
    const before = structuredClone(original);
    before.tasks.find((t) => t.userTaskID === 'west')!.before.taskCreateSetting.maxCall = 11;
    await project.write('before.cfplan', JSON.stringify(before));
    const shownBefore = await cli('show', 'before.cfplan');
    expect(shownBefore.code).toBe(1);
    expect(shownBefore.stderr).toContain(
      'before.cfplan: task west: its changes are not the difference between its before and after: the plan file was edited',
    );
    const warning = structuredClone(original);
    warning.tasks.find((t) => t.userTaskID === 'west')!.warnings = [];
    await project.write('warning.cfplan', JSON.stringify(warning));
    const shownWarning = await cli('show', 'warning.cfplan');
    expect(shownWarning.code).toBe(1);
    expect(shownWarning.stderr).toContain(
      'warning.cfplan: task west: the warning that phoneEncrypt and SMS changes take effect late is missing: the plan file was edited',
    );
    expect((await cli('show', 'plan.cfplan')).code).toBe(0);
  });

  it('applies a saved plan of format 2.0 (no policy record) after checking it against the current policy', async () => {
    await writeTasks({ maxCall: 40 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    const {
      risks: _r,
      dial_windows: _w,
      policy: _p,
      ...older
    } = parseJson<CallformPlan>(await project.read('plan.cfplan'));
    await project.write('plan.cfplan', JSON.stringify({ ...older, format_version: '2.0' }));
    const res = await cli('apply', 'plan.cfplan');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(
      /warning: the plan \(format 2\.0\) records no policy check; checking it against the current policy \(sha256 [0-9a-f]{12}\)/,
    );
  });

  it('refuses a saved plan made under a policy when the settings in use have none (no --config bypass)', async () => {
    await writeTasks({ maxCall: 40 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    await project.write('policies/base.yaml', POLICY_CAP(30));
    const settings = await project.read('callform.config.yaml');
    await project.write(
      'nopolicy.yaml',
      settings
        .split('\n')
        .filter((l) => !l.startsWith('policyFiles'))
        .join('\n'),
    );
    const res = await cli('--config', 'nopolicy.yaml', 'apply', 'plan.cfplan');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /apply refused: the plan was checked against a policy \(sha256 [0-9a-f]{12}\), but the settings in use configure none/,
    );
    expect(sent).toEqual([]);
    await expect(project.read('callform.state.json')).rejects.toThrow();
  });

  it('refuses when the policy file is removed from disk but still configured (not found is not "no policy")', async () => {
    await writeTasks({ maxCall: 40 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    const { rm } = await import('node:fs/promises');
    await rm(`${project.dir}/policies/base.yaml`);
    const res = await cli('apply', 'plan.cfplan');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('policyFiles policies/*.yaml match no file');
    expect(sent).toEqual([]);
  });
});

describe('--resync and risk callouts', () => {
  it('re-sent fields go through the risk check: phoneEncrypt false and startupType 3 are callouts, --fail-on-risk exits 4', async () => {
    await project.write(
      'tasks/campaign.yaml',
      `tasks:
  - userTaskID: west
    sceneID: scene-1
    taskCreateSetting: { taskName: West, startupType: 3 }
    funcFlag: { phoneEncrypt: false }
`,
    );
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    // Nothing changed since: without --resync there is nothing to send and nothing to flag.
    expect((await cli('plan', '--fail-on-risk', '--detailed-exitcode')).code).toBe(0);
    const json = await cli('plan', '--resync', '--fail-on-risk', '--format', 'json');
    expect(json.code, json.stderr).toBe(4);
    const plan = parseJson<CallformPlan>(json.stdout);
    expect(plan.tasks.find((t: { userTaskID: string }) => t.userTaskID === 'west')).toMatchObject({
      action: 'update',
      changes: [],
      resync: true,
    });
    expect(plan.risks?.map((r: { kind: string }) => r.kind)).toEqual(['phone-encrypt-off', 'startup-immediate']);
    const text = await cli('plan', '--resync', '--fail-on-risk');
    expect(text.code).toBe(4);
    expect(text.stdout).toContain(
      'west: number encryption turned off (phoneEncrypt false; callform does not know the previous value)',
    );
    expect(text.stdout).toContain('west: startupType set to 3: the task starts dialing as soon as it has orders');
  });
});

describe("a saved plan's derived parts are recomputed from its tasks by show and apply", () => {
  const edit = async (from: string, to: string, change: (plan: CallformPlan) => void) => {
    const plan = parseJson<CallformPlan>(await project.read(from));
    change(plan);
    await project.write(to, JSON.stringify(plan));
  };

  it('an edited summary and risk list: show refuses the file in every format, naming the part', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ maxCall: 45 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    await edit('plan.cfplan', 'edited.cfplan', (plan) => {
      plan.summary.update = 0;
      plan.risks = [];
    });
    for (const format of ['text', 'markdown', 'json']) {
      const shown = await cli('show', 'edited.cfplan', '--format', format);
      expect(shown.code, format).toBe(1);
      expect(shown.stderr, format).toContain(
        'edited.cfplan: its summary says 0 to update, but its tasks have 1 to update: the plan file was edited',
      );
      // JSON consumers get the failure as a document; the other formats print nothing.
      if (format === 'json') expect(parseJson<{ kind: string }>(shown.stdout).kind).toBe('callform-error');
      else expect(shown.stdout, format).toBe('');
    }
    // The risks alone.
    await edit('plan.cfplan', 'risks.cfplan', (plan) => (plan.risks = []));
    const risks = await cli('show', 'risks.cfplan');
    expect(risks.code).toBe(1);
    expect(risks.stderr).toContain(
      'risks.cfplan: its risks list 0 risky changes (none), but its tasks have 1 risky change (west max-call-raised): the plan file was edited',
    );
    // The file as written shows.
    const shown = await cli('show', 'plan.cfplan');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toContain('Plan: 1 to update, 1 unchanged.');
  });

  it('an edited summary or risk list: apply refuses the file, naming the part; nothing is sent', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ maxCall: 45 });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    await edit('plan.cfplan', 'edited.cfplan', (plan) => {
      plan.summary.update = 0;
      plan.risks = [];
    });
    await edit('plan.cfplan', 'risks.cfplan', (plan) => (plan.risks = []));
    sent = [];
    const applied = await cli('apply', 'edited.cfplan');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(
      'edited.cfplan: its summary says 0 to update, but its tasks have 1 to update: the plan file was edited',
    );
    expect(applied.stderr).toContain('hint: make a new plan with `callform plan --out FILE`');
    const risks = await cli('apply', 'risks.cfplan');
    expect(risks.code).toBe(1);
    expect(risks.stderr).toContain('risks.cfplan: its risks list 0 risky changes');
    expect(sent).toEqual([]);
    expect((await cli('apply', 'plan.cfplan')).code).toBe(0);
    expect(sent.map((b) => b.userTaskID)).toEqual(['west']);
  });

  it('an edited dialing-window view is refused', async () => {
    expect((await cli('apply', '--auto-approve')).code).toBe(0);
    await writeTasks({ dialWindow: { hours: ['08:00-12:00', '15:00-18:00'] } });
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    await edit('plan.cfplan', 'edited.cfplan', (plan) => (plan.dial_windows![0].added = []));
    sent = [];
    for (const command of ['show', 'apply']) {
      const res = await cli(command, 'edited.cfplan');
      expect(res.code, command).toBe(1);
      expect(res.stderr, command).toContain(
        'edited.cfplan: its dialing-window view of task west is not the window change its task makes: the plan file was edited',
      );
    }
    expect(sent).toEqual([]);
  });

  it('an edited policy report is refused when the policy is the one the plan was checked against', async () => {
    await project.write('policies/base.yaml', POLICY_CAP(5, 'warn'));
    expect((await cli('plan', '--out', 'plan.cfplan')).code).toBe(0);
    expect(parseJson<CallformPlan>(await project.read('plan.cfplan')).policy?.violations).toHaveLength(2);
    await edit('plan.cfplan', 'edited.cfplan', (plan) => (plan.policy!.violations = []));
    const message =
      /edited\.cfplan: its policy report lists 0 violations and 0 exemptions, but the policy \(sha256 [0-9a-f]{12}\) finds 2 violations and 0 exemptions in its tasks: the plan file was edited/;
    for (const command of ['show', 'apply']) {
      const res = await cli(command, 'edited.cfplan');
      expect(res.code, command).toBe(1);
      expect(res.stderr, command).toMatch(message);
    }
    expect(sent).toEqual([]);
    // Outside the project, show cannot check the report against its policy, and says so.
    const elsewhere = await tempProject();
    try {
      const { copyFile } = await import('node:fs/promises');
      await copyFile(`${project.dir}/edited.cfplan`, `${elsewhere.dir}/edited.cfplan`);
      const res = await runCli(['show', 'edited.cfplan'], { cwd: elsewhere.dir });
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(
        "warning: the plan's policy report was not checked again: the settings in use configure no policy",
      );
    } finally {
      await rm(elsewhere.dir, { recursive: true, force: true });
    }
  });
});

describe('lint warnings and --target', () => {
  it('plan prints the lint warnings of the targeted tasks only', async () => {
    await writeTasks({ dialWindow: undefined, dialAtWeekDay: '1', dialAtUpHour: '10,19', dialAtDownHour: '10' });
    const lone = '19:00–19:30 on Mon: a lone half-hour slot';
    expect((await cli('plan', '--offline')).stderr).toContain(lone);
    expect((await cli('plan', '--offline', '--target', 'west')).stderr).toContain(lone);
    const east = await cli('plan', '--offline', '--target', 'east');
    expect(east.code, east.stderr).toBe(0);
    expect(east.stderr).not.toContain(lone);
    expect(east.stderr).not.toContain('warning:');
  });
});

describe('policy refusals list at most 20 violations', () => {
  it('apply refused: the first 20, then "… and N more"', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    await project.write('tasks/campaign.yaml', {
      tasks: ids.map((id) => ({
        userTaskID: id,
        sceneID: 'scene-1',
        taskCreateSetting: { taskName: id, maxCall: 80 },
      })),
    });
    const res = await cli('apply', '--auto-approve');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('apply refused: 23 policy violations at error level:');
    expect(res.stderr).toContain('t19 [robot-concurrency] maxCall is 80, above the maximum 50');
    expect(res.stderr).not.toContain('t20 [robot-concurrency]');
    expect(res.stderr).toContain('\n  … and 3 more\n');
    expect(sent).toEqual([]);
  });
});
