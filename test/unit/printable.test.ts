/** Text from NXCloud as callform shows it, and saved-plan entries that contradict themselves. */
import { describe, it, expect } from 'vitest';
import { printable } from '../../src/model/printable.js';
import { describeStatus } from '../../src/model/status.js';
import { buildPlan } from '../../src/plan/plan.js';
import { reviewPlan } from '../../src/review/index.js';
import { editedPart } from '../../src/review/edited.js';
import type { CallformPlan } from '../../src/model/plan.js';
import type { DesiredTask } from '../../src/model/task.js';

describe('printable', () => {
  it('escapes controls, direction marks and line separators, and keeps the rest as it is', () => {
    expect(printable('a\u001b[2Jb\nc\u0085d\u061ce\u202ef\u2028g\u2029h')).toBe(
      'a\\u001b[2Jb\\u000ac\\u0085d\\u061ce\\u202ef\\u2028g\\u2029h',
    );
    expect(printable('Renewals north · 续约 ✓ "quoted" \\ back')).toBe('Renewals north · 续约 ✓ "quoted" \\ back');
  });

  it('describeStatus shows a status that is not a number escaped', () => {
    expect(describeStatus(2)).toBe('2 (running)');
    expect(describeStatus(9)).toBe('9 (unknown)');
    expect(describeStatus('\u001b[2J' as unknown as number)).toBe('\\u001b[2J (unknown)');
  });
});

describe('a saved plan entry that contradicts itself', () => {
  const task: DesiredTask = {
    userTaskID: 'new-task',
    sceneID: 'scene-1',
    taskCreateSetting: { maxCall: 5 },
    funcFlag: { phoneEncrypt: true },
    lifecycle: {},
    source: 'tasks/a.yaml:1',
  };
  const plan = (): CallformPlan =>
    JSON.parse(
      JSON.stringify(
        reviewPlan(
          buildPlan({
            desired: [task],
            state: { version: 2, lineage: '00000000-0000-4000-8000-000000000000', serial: 1, tasks: {} },
            stateExists: true,
            remote: new Map(),
            targets: null,
            filesDigest: 'd',
            toolVersion: 't',
            now: new Date(0),
          }),
          null,
        ),
      ),
    ) as CallformPlan;

  it('a create as planned passes; an edited createPayload or payload is named', () => {
    expect(plan().tasks[0].action).toBe('create');
    expect(editedPart(plan())).toBeNull();
    const scene = plan();
    (scene.tasks[0] as { createPayload: { sceneID: string } }).createPayload.sceneID = 'scene-2';
    expect(editedPart(scene)).toBe(
      "task new-task: its createPayload is not the task's identity (productID, userTaskID, sceneID)",
    );
    const payload = plan();
    (payload.tasks[0] as { payload: { taskCreateSetting: { maxCall: number } } }).payload.taskCreateSetting.maxCall = 9;
    expect(editedPart(payload)).toBe('task new-task: its payload is not the values of the fields it sends');
  });
});
