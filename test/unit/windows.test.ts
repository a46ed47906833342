import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  compileDialWindow,
  scheduleOf,
  rawOf,
  windowFormOf,
  describeSchedule,
  describeCells,
  cellsOf,
  cellsMinus,
  widens,
  loneHalfHours,
  slotOn,
  parseDays,
  formatDays,
  formatZone,
  scheduleMinus,
  groupCells,
  type DialSchedule,
} from '../../src/windows/index.js';

const RUNS = { numRuns: 300, seed: 20261126 };
const sortedList = (xs: number[]) => [...xs].sort((a, b) => a - b).join(',');
const listArb = (lo: number, hi: number) =>
  fc.uniqueArray(fc.integer({ min: lo, max: hi }), { minLength: 1, maxLength: hi - lo + 1 });
const rawArb = fc.record({ days: listArb(1, 7), up: listArb(0, 23), down: listArb(0, 23) });
const scheduleArb = rawArb.map((r) =>
  scheduleOf({ dialAtWeekDay: r.days.join(','), dialAtUpHour: r.up.join(','), dialAtDownHour: r.down.join(',') })!,
);

/** The API's definition, cell by cell: day d, half hour s (0..47). */
function apiAllows(r: { days: number[]; up: number[]; down: number[] }, day: number, slot: number): boolean {
  const hour = slot >> 1;
  return r.days.includes(day) && (slot % 2 === 0 ? r.up.includes(hour) : r.down.includes(hour));
}
const cellOn = (s: DialSchedule, day: number, slot: number) => slotOn(cellsOf(s)[day - 1], slot);

describe('windows: raw ↔ readable', () => {
  it('raw → schedule → raw is the canonical (ascending) form of the same lists', () => {
    fc.assert(
      fc.property(rawArb, (r) => {
        const raw = rawOf(
          scheduleOf({
            dialAtWeekDay: r.days.join(','),
            dialAtUpHour: r.up.join(','),
            dialAtDownHour: r.down.join(','),
          })!,
        );
        expect(raw).toEqual({
          dialAtWeekDay: sortedList(r.days),
          dialAtUpHour: sortedList(r.up),
          dialAtDownHour: sortedList(r.down),
        });
      }),
      RUNS,
    );
  });

  it('raw → dialWindow → raw round-trips exactly', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const compiled = compileDialWindow(windowFormOf(s));
        expect(compiled.problems).toEqual([]);
        expect(compiled.fields).toEqual(rawOf(s));
      }),
      RUNS,
    );
  });

  it('dialWindow → raw → dialWindow gives the same cells, as merged ranges', () => {
    // Any set of half hours, written as ranges (adjacent pieces allowed), plus any days.
    const slotsArb = fc.array(fc.boolean(), { minLength: 48, maxLength: 48 });
    fc.assert(
      fc.property(slotsArb, listArb(1, 7), fc.integer({ min: 0, max: 47 }), (slots, days, cut) => {
        const ranges: Array<[number, number]> = [];
        slots.forEach((on, s) => {
          const last = ranges.at(-1);
          if (!on) return;
          if (last && last[1] === s && s !== cut)
            last[1] = s + 1; // split a run at `cut`: still the same cells
          else ranges.push([s, s + 1]);
        });
        const clock = (s: number) => `${String(s >> 1).padStart(2, '0')}:${s % 2 ? '30' : '00'}`;
        const hours = ranges.map(([a, b]) => `${clock(a)}-${clock(b)}`);
        const compiled = compileDialWindow({ days: days, hours });
        const up = slots.some((on, s) => on && s % 2 === 0);
        const down = slots.some((on, s) => on && s % 2 === 1);
        if (!up || !down) {
          // Not sendable: an hour list would be empty. Always reported, never compiled.
          expect(compiled.problems.length).toBeGreaterThan(0);
          return;
        }
        expect(compiled.problems).toEqual([]);
        const s = scheduleOf(compiled.fields)!;
        for (let d = 1; d <= 7; d++)
          for (let slot = 0; slot < 48; slot++) expect(cellOn(s, d, slot)).toBe(days.includes(d) && slots[slot]);
        // Back to the readable form: maximal runs, days ascending.
        const back = windowFormOf(s);
        expect(back.days).toEqual([...days].sort((a, b) => a - b));
        expect(compileDialWindow(back).fields).toEqual(compiled.fields);
      }),
      RUNS,
    );
  });

  it('cells follow the API definition: up hour h = [h:00, h:30), down hour h = [h:30, h+1:00)', () => {
    fc.assert(
      fc.property(rawArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 47 }), (r, day, slot) => {
        const s = scheduleOf({
          dialAtWeekDay: r.days.join(','),
          dialAtUpHour: r.up.join(','),
          dialAtDownHour: r.down.join(','),
        })!;
        expect(cellOn(s, day, slot)).toBe(apiAllows(r, day, slot));
      }),
      RUNS,
    );
  });

  it('widens() is exactly "after has a cell before has not"', () => {
    fc.assert(
      fc.property(scheduleArb, scheduleArb, (a, b) => {
        let added = false;
        for (let d = 1; d <= 7; d++) for (let s = 0; s < 48; s++) if (cellOn(b, d, s) && !cellOn(a, d, s)) added = true;
        expect(widens(a, b)).toBe(added);
        expect(widens(a, a)).toBe(false);
      }),
      RUNS,
    );
  });

  it('scheduleMinus groups the same cells as the cell-by-cell difference', () => {
    fc.assert(
      fc.property(scheduleArb, scheduleArb, (a, b) => {
        expect(scheduleMinus(a, b)).toEqual(groupCells(cellsMinus(cellsOf(a), cellsOf(b))));
      }),
      RUNS,
    );
  });

  it('a lone half hour is an allowed slot with both neighbours off (cyclically when every day dials)', () => {
    fc.assert(
      fc.property(scheduleArb, fc.boolean(), (s, acrossMidnight) => {
        const day = { up: s.up, down: s.down };
        const on = (slot: number) =>
          acrossMidnight ? slotOn(day, (slot + 48) % 48) : slot >= 0 && slot < 48 && slotOn(day, slot);
        const expected = Array.from({ length: 48 }, (_, i) => i).filter((i) => on(i) && !on(i - 1) && !on(i + 1));
        expect(loneHalfHours(day, acrossMidnight)).toEqual(expected);
      }),
      RUNS,
    );
  });
});

describe('windows: readable text', () => {
  it("describes the issue's example change", () => {
    const before = scheduleOf({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '10,11,15,16,17',
      dialAtDownHour: '10,11,15,16,17',
    })!;
    const after = scheduleOf({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '8,9,10,11,15,16,17,18,19,20,21',
      dialAtDownHour: '10,11,15,16,17',
    })!;
    expect(describeSchedule(before)).toBe('Mon–Fri 10:00–12:00, 15:00–18:00');
    expect(describeSchedule(after)).toBe(
      'Mon–Fri 08:00–08:30, 09:00–09:30, 10:00–12:00, 15:00–18:30, 19:00–19:30, 20:00–20:30, 21:00–21:30',
    );
    expect(widens(before, after)).toBe(true);
    expect(describeCells(cellsMinus(cellsOf(after), cellsOf(before)))).toBe(
      'Mon–Fri 08:00–08:30, 09:00–09:30, 18:00–18:30, 19:00–19:30, 20:00–20:30, 21:00–21:30',
    );
    expect(loneHalfHours(after).map((s) => s / 2)).toEqual([8, 9, 19, 20, 21]);
  });

  it('formats days and zones', () => {
    const days = (t: string) => {
      const p = parseDays(t);
      if (!p.ok) throw new Error(JSON.stringify(p.problems));
      return formatDays(p.value);
    };
    expect(days('Mon-Fri')).toBe('Mon–Fri');
    expect(days('mon,Wed,Sat-Sun')).toBe('Mon, Wed, Sat–Sun');
    expect(days('Monday, 3, 7')).toBe('Mon, Wed, Sun');
    expect(formatZone(28800)).toBe('GMT+8');
    expect(formatZone(20700)).toBe('GMT+5:45');
    expect(formatZone(-12600)).toBe('GMT-3:30');
    expect(formatZone(0)).toBe('GMT+0');
    expect(formatZone(undefined)).toBe('zone not declared');
  });
});

describe('windows: compile errors', () => {
  const problems = (w: Parameters<typeof compileDialWindow>[0]) =>
    compileDialWindow(w).problems.map((p) => `${p.at.join('.')}: ${p.message}`);

  it('names times that are not on a half hour', () => {
    expect(problems({ hours: ['09:15-12:00'] })).toEqual([
      'hours.0: 09:15 is not on a half hour (the API dials in half-hour slots: :00 or :30)',
    ]);
  });
  it('names overlapping, empty and backwards ranges', () => {
    expect(problems({ hours: ['09:00-12:00', '11:30-13:00'] })).toEqual([
      'hours.1: "11:30-13:00" overlaps "09:00-12:00" (both include 11:30–12:00)',
    ]);
    expect(problems({ hours: ['10:00-10:00'] })).toEqual(['hours.0: range "10:00-10:00" is empty']);
    expect(problems({ hours: ['22:00-02:00'] })).toEqual(['hours.0: range "22:00-02:00" ends before it starts']);
    expect(problems({ hours: ['9-17'] })).toEqual([
      'hours.0: "9" is not a time (HH:MM)',
      'hours.0: "17" is not a time (HH:MM)',
    ]);
    expect(problems({ hours: ['23:00-24:30'] })).toEqual(['hours.0: "24:30" is not a time of day']);
  });
  it('names unknown and repeated days and backwards day ranges', () => {
    expect(problems({ days: 'Mon-Fry' })).toEqual(['days: unknown day "Fry"']);
    expect(problems({ days: 'Mon-Fri,Wed' })).toEqual(['days: Wed is listed twice']);
    expect(problems({ days: 'Fri-Mon' })).toEqual(['days: range "Fri-Mon" runs backwards']);
    expect(compileDialWindow({ days: 'Fri-Tue' }).problems[0].hint).toBe(
      'ranges run Monday to Sunday; write Fri-Sun,Mon-Tue',
    );
    expect(problems({ days: [1, 2, 2] })).toEqual(['days.2: Tue is listed twice']);
  });
  it('refuses windows the API cannot express', () => {
    expect(problems({ hours: ['09:00-09:30', '14:00-14:30'] })).toEqual([
      'hours: these hours have no [h:30, h+1:00) half hour, so dialAtDownHour would be empty; the API needs at least one hour in each list',
    ]);
    expect(problems({})).toEqual([': dialWindow is empty on every day: it names no days and no hours']);
  });
  it('compiles each part to its raw fields only', () => {
    expect(compileDialWindow({ days: 'Sat-Sun' }).fields).toEqual({ dialAtWeekDay: '6,7' });
    expect(compileDialWindow({ hours: ['09:00-12:00', '14:00-17:30'] }).fields).toEqual({
      dialAtUpHour: '9,10,11,14,15,16,17',
      dialAtDownHour: '9,10,11,14,15,16',
    });
    expect(compileDialWindow({ days: 'Mon–Fri', hours: ['09:30–10:00', '10:00–11:00'] }).fields).toEqual({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '10',
      dialAtDownHour: '9,10',
    });
  });
});
