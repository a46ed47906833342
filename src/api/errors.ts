import { CallformError } from '../errors.js';

/** `throttled`: the throttle budget ran out (the API kept answering HTTP 429 / retCode 7). */
export type ApiErrorKind = 'network' | 'http' | 'retcode' | 'signature' | 'protocol' | 'auth' | 'throttled';

/** A failed API call, after retries. Never carries the secret or a signature. */
export class ApiError extends CallformError {
  constructor(
    readonly endpoint: string,
    readonly kind: ApiErrorKind,
    message: string,
    readonly details: { retCode?: number; retMsg?: string; statusCode?: number; attempts: number; responseID?: string },
    hint?: string,
  ) {
    super(`${endpoint}: ${message}`, hint);
    this.name = 'ApiError';
  }
}
