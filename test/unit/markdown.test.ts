import { describe, it, expect } from 'vitest';
import { expectGolden } from '../support/golden.js';
import { buildPlan, type PlanInput } from '../../src/plan/plan.js';
import { renderPlanMarkdown, MARKDOWN_LIMIT, MARKDOWN_MARKER } from '../../src/render/markdown.js';
import { renderPlanText } from '../../src/render/text.js';
import type { DesiredTask } from '../../src/model/task.js';
import type { RemoteTask as ListedTask } from '../../src/model/task.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const LINEAGE = '11111111-2222-4333-8444-555555555555';

function task(id: string, over: Partial<DesiredTask> = {}): DesiredTask {
  return {
    userTaskID: id,
    sceneID: 'scene-renewal-v3',
    taskCreateSetting: {
      taskName: `Renewals ${id}`,
      maxCall: 10,
      dialAtWeekDay: '1,2,3,4,5',
      taskCallbackUrl: 'https://ops:s3cret@hooks.example.com/cb',
    },
    funcFlag: { taskKeep: true, wholeTTS: true },
    lifecycle: {},
    source: `tasks/${id}.yaml:3`,
    ...over,
  };
}
const listed = (id: string, taskStatus: number): ListedTask => ({
  userTaskID: id,
  taskID: `T-${id}`,
  sceneID: 'scene-renewal-v3',
  taskStatus,
  createTs: 0,
});

function realisticPlan() {
  const desired = [
    task('north'),
    task('south'),
    task('east', { funcFlag: { taskKeep: true, wholeTTS: true, phoneEncrypt: true } }),
    task('west'),
  ];
  const applied = (t: DesiredTask, over: Partial<DesiredTask['taskCreateSetting']> = {}) => ({
    sceneID: t.sceneID,
    taskID: `T-${t.userTaskID}`,
    taskCreateSetting: { ...t.taskCreateSetting, ...over },
    funcFlag: { taskKeep: true, wholeTTS: true },
    appliedAt: NOW.toISOString(),
  });
  const input: PlanInput = {
    desired,
    state: {
      version: 1,
      lineage: LINEAGE,
      serial: 7,
      tasks: {
        north: applied(desired[0], { maxCall: 5, routeID: 'route-old' }),
        south: applied(desired[1], { maxCall: 20 }),
        east: applied(desired[2]),
        west: applied(desired[3]),
        retired: applied(task('retired')),
      },
    },
    stateExists: true,
    remote: new Map([
      ['north', listed('north', 5)],
      ['south', listed('south', 2)],
      ['east', listed('east', 1)],
      ['west', listed('west', 1)],
    ]),
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: '0.1.0',
    now: NOW,
  };
  return buildPlan(input);
}

describe('markdown plan (PR comment)', () => {
  it('renders a realistic plan: marker, summary, table, collapsible details, masked values', async () => {
    const md = renderPlanMarkdown(realisticPlan());
    expect(md.startsWith(MARKDOWN_MARKER)).toBe(true);
    expect(md).toContain('**2 to update, 1 blocked, 1 to forget, 1 unchanged**');
    expect(md).not.toContain('s3cret');
    await expectGolden(md, 'plan-realistic.md');
  });

  it('a resync says how many fields change and how many are sent', () => {
    const east = task('east');
    const plan = buildPlan({
      desired: [east],
      state: {
        version: 1,
        lineage: LINEAGE,
        serial: 1,
        tasks: {
          east: {
            sceneID: east.sceneID,
            taskID: 'T-east',
            taskCreateSetting: east.taskCreateSetting,
            funcFlag: east.funcFlag,
            appliedAt: NOW.toISOString(),
          },
        },
      },
      stateExists: true,
      remote: new Map([['east', listed('east', 1)]]),
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: '0.1.0',
      now: NOW,
      resync: true,
    });
    const md = renderPlanMarkdown(plan);
    expect(md).toContain('<code>east</code>');
    expect(md).toMatch(/<code>east<\/code>: [^(]*\(0 fields changed, 6 sent\)<\/summary>/);
    expect(md).toContain('resync: sends every declared field (6 fields), whatever the state says');
  });

  it('renders a no-change plan', async () => {
    const plan = buildPlan({
      desired: [],
      state: { version: 1, lineage: LINEAGE, serial: 1, tasks: {} },
      stateExists: true,
      remote: new Map(),
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: '0.1.0',
      now: NOW,
    });
    await expectGolden(renderPlanMarkdown(plan), 'plan-empty.md');
  });

  it('renders the terminal text of the same plan', async () => {
    await expectGolden(renderPlanText(realisticPlan()), 'plan-realistic.txt');
  });

  it("keeps a 2,000-task first apply under GitHub's comment limit, with a truncation note", async () => {
    const desired = Array.from({ length: 2000 }, (_, i) => task(`task-${String(i).padStart(4, '0')}`));
    const plan = buildPlan({
      desired,
      state: { version: 1, lineage: LINEAGE, serial: 0, tasks: {} },
      stateExists: false,
      remote: new Map(desired.map((t) => [t.userTaskID, listed(t.userTaskID, 1)])),
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: '0.1.0',
      now: NOW,
    });
    const md = renderPlanMarkdown(plan);
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md).toContain('**2000 to update, 0 unchanged**');
    expect(md).toMatch(/more changed task\(s\) not listed in the table/);
    expect(md).toMatch(/task details omitted to stay under GitHub's 65,536-character comment limit/);
    // Never cut inside an element: every opened <details> is closed.
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
    await expectGolden(md, 'plan-2000.md');
  });
});
