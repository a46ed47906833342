/**
 * The half-hour slots of one day, in the API's own two lists: bit h of `up` is
 * [h:00, h:30) (dialAtUpHour), bit h of `down` is [h:30, h+1:00) (dialAtDownHour).
 * Slot s (0..47) is the half hour starting at s × 30 minutes.
 */
import { failed, parsed, type Parsed, type WindowProblem } from './problems.js';

type HourMask = number;

export interface HalfHours {
  up: HourMask;
  down: HourMask;
}

export const SLOTS_PER_DAY = 48;
export const NO_SLOTS: HalfHours = Object.freeze({ up: 0, down: 0 });

export const slotOn = (h: HalfHours, slot: number): boolean => (((slot & 1 ? h.down : h.up) >>> (slot >> 1)) & 1) === 1;

export function withSlot(h: HalfHours, slot: number): HalfHours {
  const bit = 1 << (slot >> 1);
  return slot & 1 ? { up: h.up, down: h.down | bit } : { up: h.up | bit, down: h.down };
}

export const isEmpty = (h: HalfHours): boolean => h.up === 0 && h.down === 0;
export const sameSlots = (a: HalfHours, b: HalfHours): boolean => a.up === b.up && a.down === b.down;
/** Slots in `a` and not in `b`. */
export const minus = (a: HalfHours, b: HalfHours): HalfHours => ({ up: a.up & ~b.up, down: a.down & ~b.down });

const RANGE_HINT =
  'write half-hour-aligned ranges in the task\'s time zone, e.g. "09:00-12:00" or "14:30-17:00"; "24:00" may end a range';

/** "HH:MM" → minutes since midnight, or a reason it is not a usable time. */
function minutesOf(text: string): number | string {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return `"${text.trim()}" is not a time (HH:MM)`;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (hours > 24 || minutes > 59 || (hours === 24 && minutes > 0)) return `"${text.trim()}" is not a time of day`;
  if (minutes % 30 !== 0) return `${text.trim()} is not on a half hour (the API dials in half-hour slots: :00 or :30)`;
  return hours * 60 + minutes;
}

/** One "HH:MM-HH:MM" range → [first slot, end slot) or problems. */
function parseRange(text: string, index: number): Parsed<[number, number]> {
  const at = ['hours', index];
  const parts = text.split(/\s*[-–]\s*/);
  if (parts.length !== 2) return failed([{ at, message: `"${text}" is not a range (HH:MM-HH:MM)`, hint: RANGE_HINT }]);
  const [start, end] = parts.map(minutesOf);
  const problems = [start, end]
    .filter((v): v is string => typeof v === 'string')
    .map((message) => ({ at, message, hint: RANGE_HINT }));
  if (problems.length > 0) return failed(problems);
  if ((start as number) >= (end as number)) {
    return failed([
      start === end
        ? { at, message: `range "${text}" is empty`, hint: 'a range ends after it starts, e.g. "10:00-10:30"' }
        : {
            at,
            message: `range "${text}" ends before it starts`,
            hint: 'ranges cannot cross midnight: write "22:00-24:00" and "00:00-02:00" (both apply to the same days)',
          },
    ]);
  }
  return parsed([(start as number) / 30, (end as number) / 30]);
}

const showSlot = (slot: number, dash = '–') => `${clock(slot)}${dash}${clock(slot + 1)}`;

/** ["09:00-12:00", "14:00-17:30"] → the day's slots; overlapping ranges are an error. */
export function parseHourRanges(ranges: readonly string[]): Parsed<HalfHours> {
  const problems: WindowProblem[] = [];
  let slots = NO_SLOTS;
  const owner: number[] = [];
  ranges.forEach((text, index) => {
    const range = parseRange(text, index);
    if (!range.ok) return void problems.push(...range.problems);
    const [from, to] = range.value;
    for (let s = from; s < to; s++) {
      const first = owner.at(s); // sparse: unset until a range claims the slot
      if (first !== undefined) {
        problems.push({
          at: ['hours', index],
          message: `"${text}" overlaps "${ranges[first]}" (both include ${showSlot(s)})`,
          hint: 'ranges must not overlap; merge them into one',
        });
        return;
      }
      owner[s] = index;
      slots = withSlot(slots, s);
    }
  });
  if (ranges.length === 0) problems.push({ at: ['hours'], message: 'no hours given', hint: RANGE_HINT });
  return problems.length > 0 ? failed(problems) : parsed(slots);
}

/** "09:00" for slot 18; slot 48 is "24:00". */
export function clock(slot: number): string {
  return `${String(slot >> 1).padStart(2, '0')}:${slot & 1 ? '30' : '00'}`;
}

/** Maximal runs of slots as [first, end) pairs, in order. */
function slotRuns(h: HalfHours): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let s = 0; s < SLOTS_PER_DAY; s++) {
    if (!slotOn(h, s)) continue;
    const last = runs.at(-1);
    if (last && last[1] === s) last[1] = s + 1;
    else runs.push([s, s + 1]);
  }
  return runs;
}

/** ["09:00–12:00", "14:00–17:30"] (dash "-" gives the dialWindow form). */
export function formatHours(h: HalfHours, dash = '–'): string[] {
  return slotRuns(h).map(([a, b]) => `${clock(a)}${dash}${clock(b)}`);
}

/**
 * Runs of exactly one half hour with nothing dialable on either side: what an hour listed
 * in only one of dialAtUpHour / dialAtDownHour produces when it was meant to be a whole
 * hour. With `acrossMidnight` (every day dials) the day is a cycle, so a window across
 * midnight does not count; otherwise some day's 23:30 is followed by a day that does not
 * dial, and 00:00 / 23:30 border on nothing.
 */
export function loneHalfHours(h: HalfHours, acrossMidnight = true): number[] {
  const on = (s: number) =>
    acrossMidnight ? slotOn(h, (s + SLOTS_PER_DAY) % SLOTS_PER_DAY) : s >= 0 && s < SLOTS_PER_DAY && slotOn(h, s);
  const lone: number[] = [];
  for (let s = 0; s < SLOTS_PER_DAY; s++) if (on(s) && !on(s - 1) && !on(s + 1)) lone.push(s);
  return lone;
}
