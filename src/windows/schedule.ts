/**
 * A dialing schedule as the API expresses it: the same half-hour slots on every allowed
 * day. Converts both ways between the three raw fields (dialAtWeekDay, dialAtUpHour,
 * dialAtDownHour) and the readable form (days + hour ranges), and compares schedules
 * cell by cell (a cell is one half hour of one weekday).
 */
import { daysOf, formatDays, hasDay, parseDays, type DayMask } from './days.js';
import { formatHours, isEmpty, minus, NO_SLOTS, parseHourRanges, sameSlots, type HalfHours } from './hours.js';
import type { WindowProblem } from './problems.js';

/** The three raw fields, each optional (a field callform does not manage is absent). */
export interface RawDialFields {
  dialAtWeekDay?: string;
  dialAtUpHour?: string;
  dialAtDownHour?: string;
}

export const RAW_DIAL_FIELDS = ['dialAtWeekDay', 'dialAtUpHour', 'dialAtDownHour'] as const;
export type RawDialField = (typeof RAW_DIAL_FIELDS)[number];

export interface DialSchedule extends HalfHours {
  days: DayMask;
}

/** The declarative form (task files' dialWindow, the JSON plan's windows). */
export interface DialWindowForm {
  days?: string | number[];
  hours?: string[];
}

/** A comma list of small numbers ("1,2,5") as a bit mask; the schema has checked its format. */
export function maskOfList(list: string): number {
  let mask = 0;
  for (const item of list.split(',')) mask |= 1 << Number(item);
  return mask;
}

/** A bit mask as an ascending comma list, offset by `base` (1 for days, 0 for hours). */
function listOfMask(mask: number, base: number): string {
  const out: number[] = [];
  for (let bit = 0; mask >>> bit !== 0; bit++) if ((mask >>> bit) & 1) out.push(bit + base);
  return out.join(',');
}

const memo = new Map<string, number>();
/** maskOfList, remembered: the same few lists repeat across thousands of tasks. */
function cachedMask(list: string): number {
  let mask = memo.get(list);
  if (mask === undefined) {
    mask = maskOfList(list);
    if (memo.size < 4096) memo.set(list, mask);
  }
  return mask;
}

/** The schedule the raw fields describe, or null unless all three are given. */
export function scheduleOf(raw: RawDialFields): DialSchedule | null {
  const { dialAtWeekDay: days, dialAtUpHour: up, dialAtDownHour: down } = raw;
  if (days === undefined || up === undefined || down === undefined) return null;
  return { days: cachedMask(days) >>> 1, up: cachedMask(up), down: cachedMask(down) };
}

/** The day's slots given by the raw hour fields, or null unless both are given. */
export function slotsOf(raw: RawDialFields): HalfHours | null {
  if (raw.dialAtUpHour === undefined || raw.dialAtDownHour === undefined) return null;
  return { up: cachedMask(raw.dialAtUpHour), down: cachedMask(raw.dialAtDownHour) };
}

/** Canonical raw fields: ascending, no repeats, so compiling never makes a spurious diff. */
function rawDays(days: DayMask): string {
  return listOfMask(days, 1);
}
function rawHours(h: HalfHours): { dialAtUpHour: string; dialAtDownHour: string } {
  return { dialAtUpHour: listOfMask(h.up, 0), dialAtDownHour: listOfMask(h.down, 0) };
}
export function rawOf(s: DialSchedule): Required<RawDialFields> {
  return { dialAtWeekDay: rawDays(s.days), ...rawHours(s) };
}

export interface CompiledWindow {
  fields: RawDialFields;
  problems: WindowProblem[];
}

/**
 * dialWindow → the raw fields it stands for: `days` gives dialAtWeekDay, `hours` give
 * dialAtUpHour and dialAtDownHour. A window that leaves either hour list empty cannot
 * be sent (the API lists need at least one hour) and is reported.
 */
export function compileDialWindow(window: DialWindowForm): CompiledWindow {
  const fields: RawDialFields = {};
  const problems: WindowProblem[] = [];
  if (window.days !== undefined) {
    const days = parseDays(window.days);
    if (days.ok) fields.dialAtWeekDay = rawDays(days.value);
    else problems.push(...days.problems);
  }
  if (window.hours !== undefined) {
    const hours = parseHourRanges(window.hours);
    if (!hours.ok) problems.push(...hours.problems);
    else if (hours.value.up === 0 || hours.value.down === 0) problems.push(unsendable(hours.value));
    else Object.assign(fields, rawHours(hours.value));
  }
  if (window.days === undefined && window.hours === undefined)
    problems.push({
      at: [],
      message: 'dialWindow is empty on every day: it names no days and no hours',
      hint: 'give days, hours or both',
    });
  return { fields, problems };
}

function unsendable(h: HalfHours): WindowProblem {
  const [missing, has, kind] =
    h.up === 0
      ? ['dialAtUpHour', 'dialAtDownHour', '[h:00, h:30)']
      : ['dialAtDownHour', 'dialAtUpHour', '[h:30, h+1:00)'];
  return {
    at: ['hours'],
    message: `these hours have no ${kind} half hour, so ${missing} would be empty; the API needs at least one hour in each list`,
    hint: `widen a range by half an hour (only ${has} would be set)`,
  };
}

/** A schedule's identity, for remembering what was computed from it. */
export const scheduleKey = (s: DialSchedule): string => `${s.days}/${s.up}/${s.down}`;

const MEMO_LIMIT = 4096;
/** `compute(s)` remembered per schedule: plans repeat the same few windows across many tasks. */
function perSchedule<T>(compute: (s: DialSchedule) => T): (s: DialSchedule) => T {
  const memo = new Map<string, T>();
  return (s) => {
    const key = scheduleKey(s);
    let value = memo.get(key);
    if (value === undefined) {
      value = compute(s);
      if (memo.size < MEMO_LIMIT) memo.set(key, value);
    }
    return value;
  };
}

/** Raw → readable: the dialWindow form of a schedule (ASCII dashes, like the input syntax). Treat as read-only. */
export const windowFormOf: (s: DialSchedule) => Required<DialWindowForm> & { days: number[] } = perSchedule((s) => ({
  days: daysOf(s.days),
  hours: formatHours(s, '-'),
}));

/** "Mon–Fri 09:00–12:00, 14:00–17:30". */
export const describeSchedule: (s: DialSchedule) => string = perSchedule((s) =>
  s.days === 0 || isEmpty(s) ? 'never' : `${formatDays(s.days)} ${formatHours(s).join(', ')}`,
);

/** The slots of each day, Monday first: any set of cells, not only a schedule. */
export type WeekCells = readonly HalfHours[];

export function cellsOf(s: DialSchedule): WeekCells {
  return Array.from({ length: 7 }, (_, i) => (hasDay(s.days, i + 1) ? { up: s.up, down: s.down } : NO_SLOTS));
}

/** Cells in `a` that are not in `b`. */
export function cellsMinus(a: WeekCells, b: WeekCells): WeekCells {
  return a.map((day, i) => minus(day, b[i]));
}

/**
 * The cells of `a` that are not in `b`, grouped by days with the same hours: at most two
 * groups, since both are schedules (the same hours on each of their days). Bit arithmetic,
 * no per-day cells: it runs for every task whose window changes.
 */
export function scheduleMinus(a: DialSchedule, b: DialSchedule): Array<{ days: DayMask; slots: HalfHours }> {
  const groups: Array<{ days: DayMask; slots: HalfHours }> = [];
  const shared = { days: a.days & b.days, slots: minus(a, b) };
  const only = { days: a.days & ~b.days, slots: { up: a.up, down: a.down } };
  for (const g of [shared, only]) {
    if (g.days === 0 || isEmpty(g.slots)) continue;
    const same = groups.find((x) => sameSlots(x.slots, g.slots));
    if (same) same.days |= g.days;
    else groups.push(g);
  }
  // Weekday order of first appearance, as groupCells gives.
  return groups.sort((x, y) => lowestBit(x.days) - lowestBit(y.days));
}

const lowestBit = (mask: number) => mask & -mask;

/** True when `after` allows a cell `before` did not: the dialing window widened. */
export function widens(before: DialSchedule, after: DialSchedule): boolean {
  return scheduleMinus(after, before).length > 0;
}

/** "Mon–Fri 08:00–09:00; Sat 09:00–12:00" for the groups of scheduleMinus. */
export function describeGroups(groups: Array<{ days: DayMask; slots: HalfHours }>): string {
  return groups.length === 0
    ? 'nothing'
    : groups.map((g) => `${formatDays(g.days)} ${formatHours(g.slots).join(', ')}`).join('; ');
}

/** The groups as dialWindow forms. */
export function groupForms(
  groups: Array<{ days: DayMask; slots: HalfHours }>,
): Array<{ days: number[]; hours: string[] }> {
  return groups.map((g) => ({ days: daysOf(g.days), hours: formatHours(g.slots, '-') }));
}

/** Cells grouped by identical days: [{ days, slots }], in weekday order of first appearance. */
export function groupCells(cells: WeekCells): Array<{ days: DayMask; slots: HalfHours }> {
  const groups: Array<{ days: DayMask; slots: HalfHours }> = [];
  cells.forEach((slots, i) => {
    if (isEmpty(slots)) return;
    const same = groups.find((g) => sameSlots(g.slots, slots));
    if (same) same.days |= 1 << i;
    else groups.push({ days: 1 << i, slots });
  });
  return groups;
}

/** "Mon–Fri 08:00–09:00; Sat 09:00–12:00", or "nothing". */
export function describeCells(cells: WeekCells): string {
  return describeGroups(groupCells(cells));
}
