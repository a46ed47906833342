/**
 * The dialingHours rule: every half hour a task may dial lies within the rule's local
 * times and days. Without a zone of its own the rule reads the task's window in the
 * task's zone; with one (zoneSecond) it moves the task's window into that zone first, a
 * quarter hour at a time (zones are whole quarter hours).
 */
import {
  ALL_DAYS,
  NO_SLOTS,
  RAW_DIAL_FIELDS,
  cellsOf,
  describeCells,
  formatDays,
  formatHours,
  parseDays,
  parseHourRanges,
  scheduleOf,
  slotOn,
  withSlot,
  type HalfHours,
  type WeekCells,
} from '../windows/index.js';
import { formatZone } from '../windows/zone.js';
import type { Check, Finding, RuleOf, RuleProblem } from './types.js';

const QUARTERS_PER_DAY = 96;
const QUARTERS_PER_WEEK = 7 * QUARTERS_PER_DAY;

type Compiled = { check: Check; problems: Array<Omit<RuleProblem, 'rule'>> };

/** The cells of `cells` (task zone) that leave the allowed cells once moved by `shift` quarters. */
function outside(cells: WeekCells, allowed: WeekCells, shiftQuarters: number): WeekCells {
  const allowedQuarter = (q: number) => {
    const at = ((q % QUARTERS_PER_WEEK) + QUARTERS_PER_WEEK) % QUARTERS_PER_WEEK;
    return slotOn(allowed[Math.floor(at / QUARTERS_PER_DAY)], Math.floor((at % QUARTERS_PER_DAY) / 2));
  };
  return cells.map((day, d) => {
    let bad: HalfHours = NO_SLOTS;
    for (let s = 0; s < 48; s++) {
      if (!slotOn(day, s)) continue;
      const q = d * QUARTERS_PER_DAY + s * 2 + shiftQuarters;
      if (!allowedQuarter(q) || !allowedQuarter(q + 1)) bad = withSlot(bad, s);
    }
    return bad;
  });
}

export function dialingHoursCheck(rule: RuleOf<'dialingHours'>): Compiled {
  const problems: Compiled['problems'] = [];
  const between = parseHourRanges([rule.between]);
  if (!between.ok)
    problems.push(...between.problems.map((p) => ({ at: ['between'], message: p.message, hint: p.hint })));
  const days = rule.days === undefined ? undefined : parseDays(rule.days);
  if (days && !days.ok) problems.push(...days.problems.map((p) => ({ at: p.at, message: p.message, hint: p.hint })));
  if (!between.ok || (days && !days.ok)) return { check: () => null, problems };

  const dayMask = days?.value ?? ALL_DAYS;
  const allowed = cellsOf({ days: dayMask, ...between.value });
  const range = formatHours(between.value)[0];
  const where = `${dayMask === ALL_DAYS ? '' : `${formatDays(dayMask)} `}${range} ${rule.zoneSecond === undefined ? "in the task's local time" : formatZone(rule.zoneSecond)}`;
  const check: Check = (task) => {
    const tcs = task.taskCreateSetting;
    const declared = RAW_DIAL_FIELDS.filter((f) => tcs[f] !== undefined);
    if (declared.length === 0)
      return rule.required
        ? { path: 'taskCreateSetting.dialAtUpHour', finding: 'cannot be checked: the task declares no dialing window' }
        : null;
    const missing = RAW_DIAL_FIELDS.filter((f) => tcs[f] === undefined);
    if (missing.length > 0)
      return {
        path: `taskCreateSetting.${missing[0]}`,
        finding: `cannot be checked: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not declared, so the window is not known`,
      };
    if (tcs.zoneSecond === undefined)
      return {
        path: 'taskCreateSetting.zoneSecond',
        finding: 'cannot be checked: the task does not declare zoneSecond, so its local time is not known',
      };
    const shift = rule.zoneSecond === undefined ? 0 : (rule.zoneSecond - tcs.zoneSecond) / 900;
    const bad = outside(cellsOf(scheduleOf(tcs)!), allowed, shift);
    if (bad.every((d) => d.up === 0 && d.down === 0)) return null;
    return {
      path: 'taskCreateSetting.dialAtUpHour',
      finding: `dials outside ${where}: ${describeCells(bad)} (${formatZone(tcs.zoneSecond)})`,
    };
  };
  return { check: memoizedByWindow(check), problems };
}

type Memo = Map<unknown, Memo | Finding | null>;

/**
 * Tasks share a few windows: each (days, up hours, down hours, zone) is judged once.
 * Nested maps keyed by the values themselves (no key string built per task).
 */
function memoizedByWindow(check: Check): Check {
  const memo: Memo = new Map();
  const within = (level: Memo, key: unknown): Memo => {
    let next = level.get(key) as Memo | undefined;
    if (!next) level.set(key, (next = new Map()));
    return next;
  };
  return (task) => {
    const t = task.taskCreateSetting;
    const level = within(within(within(memo, t.dialAtWeekDay), t.dialAtUpHour), t.dialAtDownHour);
    let found = level.get(t.zoneSecond) as Finding | null | undefined;
    if (found === undefined) level.set(t.zoneSecond, (found = check(task)));
    return found;
  };
}
