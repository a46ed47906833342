import { CallformError } from '../errors.js';

export type ApiErrorKind = 'network' | 'http' | 'retcode' | 'signature' | 'protocol' | 'auth';

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
