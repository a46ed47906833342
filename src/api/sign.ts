import { createHash, timingSafeEqual } from 'node:crypto';

export type SignAlgorithm = 'MD5' | 'SHA256';

export interface SignInput {
  secretKey: string;
  /** The exact body text that is (or was) sent on the wire. */
  body: string;
  createTs: string;
  requestID: string;
  uuid: string;
}

/** The raw string of the documented scheme: values inserted verbatim, fixed label order. */
export function authRaw(input: SignInput): string {
  return `${input.secretKey}&body=${input.body}&createTs=${input.createTs}&requestID=${input.requestID}&uuid=${input.uuid}`;
}

/** UPPER(hex(MD5|SHA256(authRaw))) over the UTF-8 bytes. */
export function sign(input: SignInput, algorithm: SignAlgorithm = 'MD5'): string {
  const hash = createHash(algorithm === 'SHA256' ? 'sha256' : 'md5');
  return hash.update(authRaw(input), 'utf8').digest('hex').toUpperCase();
}

/**
 * The `algorithm` header: empty/absent means MD5 (documented). Matching is
 * case-insensitive because the docs leave case open; anything else is rejected.
 */
export function parseAlgorithm(value: string | undefined | null): SignAlgorithm | undefined {
  if (value === undefined || value === null || value.trim() === '') return 'MD5';
  const upper = value.trim().toUpperCase();
  if (upper === 'MD5' || upper === 'SHA256') return upper;
  return undefined;
}

/** Constant-time comparison of two hex signatures (crypto.timingSafeEqual; lengths are not secret). */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
