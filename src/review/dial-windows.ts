/** The dialing window before and after, for each task whose window fields change. */
import type { DialWindowChange, DialWindowView, TaskPlan } from '../model/plan.js';
import type { ManagedSettings } from '../model/settings.js';
import {
  RAW_DIAL_FIELDS,
  groupForms,
  scheduleKey,
  scheduleMinus,
  scheduleOf,
  windowFormOf,
  type DialSchedule,
} from '../windows/index.js';

const DIAL_PATHS = new Set(RAW_DIAL_FIELDS.map((f) => `taskCreateSetting.${f}`));

export interface ReadableWindow {
  schedule: DialSchedule;
  zoneSecond: number | undefined;
}

/** The whole window a settings object describes, or null when any raw field is missing. */
export function readableWindow(settings: ManagedSettings | null): ReadableWindow | null {
  const schedule = settings && scheduleOf(settings.taskCreateSetting);
  return schedule ? { schedule, zoneSecond: settings.taskCreateSetting.zoneSecond } : null;
}

function view(w: ReadableWindow | null): DialWindowView | null {
  return w && { zoneSecond: w.zoneSecond ?? null, ...windowFormOf(w.schedule) };
}

/** True when the task changes (or stops managing) dialAtWeekDay, dialAtUpHour or dialAtDownHour. */
export function changesDialWindow(task: TaskPlan): boolean {
  return 'changes' in task && task.changes.some((c) => DIAL_PATHS.has(c.path));
}

const diffMemo = new Map<string, DialWindowChange['added']>();
/** The half hours `a` allows and `b` does not, as dialWindow forms, remembered per pair. */
function cellsGained(a: DialSchedule, b: DialSchedule): NonNullable<DialWindowChange['added']> {
  const key = `${scheduleKey(a)}-${scheduleKey(b)}`;
  let forms = diffMemo.get(key);
  if (!forms) {
    forms = groupForms(scheduleMinus(a, b));
    if (diffMemo.size < 4096) diffMemo.set(key, forms);
  }
  return forms;
}

export function dialWindowChange(task: TaskPlan): DialWindowChange | null {
  if (!changesDialWindow(task)) return null;
  const before = readableWindow(task.before);
  const after = readableWindow(task.after);
  const both = before && after;
  return {
    userTaskID: task.userTaskID,
    before: view(before),
    after: view(after),
    added: both ? cellsGained(after.schedule, before.schedule) : null,
    removed: both ? cellsGained(before.schedule, after.schedule) : null,
  };
}
