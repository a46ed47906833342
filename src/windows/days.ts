/**
 * Days of the week as a 7-bit mask: bit d-1 is day d, 1 = Monday … 7 = Sunday
 * (the API's dialAtWeekDay numbering).
 */
import { failed, parsed, type Parsed, type WindowProblem } from './problems.js';

export type DayMask = number;

export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export const ALL_DAYS: DayMask = 0b1111111;

const FULL_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const DAY_HINT =
  'use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or 1..7, 1 = Monday), ranges like Mon-Fri, separated by commas';

const dayBit = (day: number): DayMask => 1 << (day - 1);
export const hasDay = (mask: DayMask, day: number): boolean => (mask & dayBit(day)) !== 0;

/** The days in a mask, ascending (1..7). */
export function daysOf(mask: DayMask): number[] {
  const out: number[] = [];
  for (let d = 1; d <= 7; d++) if (hasDay(mask, d)) out.push(d);
  return out;
}

/** 1..7 for "Mon", "monday", "1"; undefined for anything else. */
function dayNumber(token: string): number | undefined {
  const t = token.trim().toLowerCase();
  if (/^[1-7]$/.test(t)) return Number(t);
  const short = DAY_NAMES.findIndex((n) => n.toLowerCase() === t);
  if (short >= 0) return short + 1;
  const full = FULL_NAMES.indexOf(t);
  return full >= 0 ? full + 1 : undefined;
}

function addDay(mask: DayMask, day: number, at: WindowProblem['at'], problems: WindowProblem[]): DayMask {
  if (hasDay(mask, day))
    problems.push({ at, message: `${DAY_NAMES[day - 1]} is listed twice`, hint: 'list each day once' });
  return mask | dayBit(day);
}

/** "Mon-Fri", "Mon,Wed,Sat-Sun", "1-5": names or numbers, ranges running forwards. */
function parseDayText(text: string): Parsed<DayMask> {
  const problems: WindowProblem[] = [];
  let mask = 0;
  const at = ['days'];
  if (text.trim() === '') return failed([{ at, message: 'no days given', hint: DAY_HINT }]);
  for (const item of text.split(',')) {
    const bounds = item.split(/[-–]/);
    const numbers = bounds.map(dayNumber);
    if (bounds.length > 2 || numbers.some((n) => n === undefined)) {
      const bad = bounds.length > 2 ? item.trim() : bounds[numbers.indexOf(undefined)].trim();
      problems.push({
        at,
        message: bad === '' ? `"${item.trim()}" is not a day or a range of days` : `unknown day "${bad}"`,
        hint: DAY_HINT,
      });
      continue;
    }
    const [from, to = from] = numbers as number[];
    if (from > to) {
      problems.push({
        at,
        message: `range "${item.trim()}" runs backwards`,
        hint: `ranges run Monday to Sunday; write ${DAY_NAMES[from - 1]}-Sun,Mon${to > 1 ? `-${DAY_NAMES[to - 1]}` : ''}`,
      });
      continue;
    }
    for (let d = from; d <= to; d++) mask = addDay(mask, d, at, problems);
  }
  return problems.length > 0 ? failed(problems) : parsed(mask);
}

/** [1, 2, 3]: day numbers (the schema has checked they are integers 1..7). */
function parseDayNumbers(days: readonly number[]): Parsed<DayMask> {
  const problems: WindowProblem[] = [];
  let mask = 0;
  days.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1 || d > 7)
      problems.push({ at: ['days', i], message: `${d} is not a day number`, hint: DAY_HINT });
    else mask = addDay(mask, d, ['days', i], problems);
  });
  if (days.length === 0) problems.push({ at: ['days'], message: 'no days given', hint: DAY_HINT });
  return problems.length > 0 ? failed(problems) : parsed(mask);
}

export function parseDays(days: string | readonly number[]): Parsed<DayMask> {
  return typeof days === 'string' ? parseDayText(days) : parseDayNumbers(days);
}

/** Runs of consecutive days as [first, last] pairs. */
function dayRuns(mask: DayMask): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const d of daysOf(mask)) {
    const last = runs.at(-1);
    if (last && last[1] === d - 1) last[1] = d;
    else runs.push([d, d]);
  }
  return runs;
}

/** "Mon–Fri", "Mon, Wed, Sat–Sun" (dash: "–" for people, "-" for the dialWindow form). */
export function formatDays(mask: DayMask, dash = '–', separator = ', '): string {
  if (mask === 0) return 'no days';
  return dayRuns(mask)
    .map(([a, b]) => (a === b ? DAY_NAMES[a - 1] : `${DAY_NAMES[a - 1]}${dash}${DAY_NAMES[b - 1]}`))
    .join(separator);
}
