/** The domain model: at the bottom of every layer, importing nothing but generated types. */
export * from './status.js';
export * from './retcode.js';
export * from './task.js';
export * from './settings.js';
export * from './plan.js';
export { maskUrlCredentials, maskPhones, maskValue } from './redact.js';
export { printable } from './printable.js';
