/**
 * A week as a grid of half hours (7 rows × 48 cells) for Markdown code blocks: one
 * character per half hour, so a reviewer sees a window change without decoding the
 * API's hour lists.
 */
import { DAY_NAMES, SLOTS_PER_DAY, slotOn, cellsOf, type DialSchedule, type WeekCells } from '../windows/index.js';

const GRID_LEGEND = {
  kept: '#',
  added: '+',
  removed: '-',
  off: '.',
} as const;

const HEADER =
  '    ' +
  Array.from({ length: 12 }, (_, i) =>
    String(i * 2)
      .padStart(2, '0')
      .padEnd(4),
  ).join('');

function row(day: number, cell: (slot: number) => string): string {
  let line = `${DAY_NAMES[day]} `;
  for (let s = 0; s < SLOTS_PER_DAY; s++) line += cell(s);
  return line;
}

/**
 * The grid of a window change. With both windows known, cells are kept (#), added (+),
 * removed (-) or off (.); with only one known, that window's cells are shown (#).
 */
export function dialGrid(before: DialSchedule | null, after: DialSchedule | null): string[] {
  const b: WeekCells | null = before && cellsOf(before);
  const a: WeekCells | null = after && cellsOf(after);
  const lines = [HEADER.trimEnd()];
  for (let d = 0; d < 7; d++) {
    lines.push(
      row(d, (s) => {
        const was = b ? slotOn(b[d], s) : false;
        const is = a ? slotOn(a[d], s) : false;
        if (b && a)
          return was && is ? GRID_LEGEND.kept : is ? GRID_LEGEND.added : was ? GRID_LEGEND.removed : GRID_LEGEND.off;
        return was || is ? GRID_LEGEND.kept : GRID_LEGEND.off;
      }),
    );
  }
  return lines;
}

export function gridLegend(before: DialSchedule | null, after: DialSchedule | null): string {
  if (before && after)
    return `${GRID_LEGEND.kept} dials before and after · ${GRID_LEGEND.added} added · ${GRID_LEGEND.removed} removed · ${GRID_LEGEND.off} no dialing; one character per half hour`;
  return `${GRID_LEGEND.kept} dials · ${GRID_LEGEND.off} no dialing; one character per half hour (${before ? 'the window after apply is not managed by callform' : 'the window before is not known to callform'})`;
}
