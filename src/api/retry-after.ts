/**
 * How long a throttled answer asks the client to wait. `Retry-After` (RFC 9110 §10.2.3) is
 * whole seconds or an HTTP-date; `Retry-After-Ms` is the simulator's exact hint (real
 * gateways send only `Retry-After`). Pure: the clock is passed in.
 */

/** No single wait is honoured beyond this: a CLI run should not sleep for an hour on one header. */
export const MAX_RETRY_AFTER_MS = 60_000;

const DIGITS = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** `Retry-After`: delay-seconds or an HTTP-date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  const v = value?.trim();
  if (!v) return null;
  if (DIGITS.test(v)) return Number(v) * 1000;
  // An HTTP-date names a day of the week and GMT; a bare number or word is not one.
  if (!/[a-z]{3},? .*GMT$/i.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** `Retry-After-Ms`: milliseconds (fractions allowed); null when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined): number | null {
  const v = value?.trim();
  return v && DECIMAL.test(v) ? Number(v) : null;
}

/** The wait a throttled answer asks for (ms, capped), preferring the exact hint; null when it names none. */
export function retryAfterFromHeaders(
  headers: { retryAfter?: string; retryAfterMs?: string },
  nowMs: number,
): number | null {
  const ms = parseRetryAfterMs(headers.retryAfterMs) ?? parseRetryAfter(headers.retryAfter, nowMs);
  return ms === null ? null : Math.min(ms, MAX_RETRY_AFTER_MS);
}
