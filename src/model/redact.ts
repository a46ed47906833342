/** Masks user:password in URLs (taskCallbackUrl) for every rendering. */
export function maskUrlCredentials(text: string): string {
  return text.replace(
    /(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/@:"']+)(?::([^\s/@"']*))?@/gi,
    (_m, scheme) => `${scheme}***:***@`,
  );
}

/**
 * Masks phone-like digit runs (7+ digits, optional +) in debug output, keeping the last 4.
 * Times are not phone numbers: the values of JSON keys ending in Ts or At (createTs,
 * startupAt) and of "timestamp" are left readable.
 */
export function maskPhones(text: string): string {
  return text.replace(
    /(?<!"(?:\w*(?:Ts|At)|timestamp)"\s*:\s*)(?<![\w.])\+?\d{7,15}(?![\w.])/g,
    (m) => m.slice(0, -4).replace(/\d/g, '*') + m.slice(-4),
  );
}

/** Deep copy with taskCallbackUrl credentials masked (any string value). */
export function maskValue<T>(value: T): T {
  if (typeof value === 'string') return maskUrlCredentials(value) as T;
  if (Array.isArray(value)) return value.map(maskValue) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskValue(v);
    return out as T;
  }
  return value;
}
