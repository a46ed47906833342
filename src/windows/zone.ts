/** Time zones as the API gives them: a UTC offset in seconds (zoneSecond), a multiple of 900. */

/** "GMT+8", "GMT+5:45", "GMT-3:30", "GMT+0"; undefined → "zone not declared". */
export function formatZone(zoneSecond: number | undefined | null): string {
  if (zoneSecond === undefined || zoneSecond === null) return 'zone not declared';
  const sign = zoneSecond < 0 ? '-' : '+';
  const abs = Math.abs(zoneSecond);
  const hours = Math.floor(abs / 3600);
  const minutes = Math.round((abs % 3600) / 60);
  return `GMT${sign}${hours}${minutes ? `:${String(minutes).padStart(2, '0')}` : ''}`;
}
