/**
 * Dialing windows, both ways: the API's raw fields (dialAtWeekDay, dialAtUpHour,
 * dialAtDownHour) ↔ readable days and half-hour ranges. Pure, and imports nothing from
 * other layers: config compiles dialWindow with it, plan and policy compare windows,
 * render draws them.
 */
export * from './problems.js';
export * from './days.js';
export * from './hours.js';
export * from './schedule.js';
export * from './zone.js';
