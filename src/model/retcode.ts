/** Documented retCode values (§1.4 of the API notes), with their meaning. */
export const RetCode = {
  Success: 0,
  GenericError: 1,
  ParameterMissing: 2,
  ParameterFormat: 3,
  ParameterValue: 4,
  ContentTooLarge: 4001,
  Maintenance: 5,
  InternalError: 5001,
  SignatureIncorrect: 6,
  SignatureMissing: 6001,
  AccountNotFound: 6002,
  NoPermission: 6003,
  SystemBusy: 7,
} as const;

export const RET_CODE_MEANING: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'generic error',
  2: 'parameter missing',
  3: 'parameter format wrong',
  4: 'parameter value wrong',
  4001: 'parameter content too large',
  5: 'server under maintenance',
  5001: 'internal server error',
  6: 'signature incorrect',
  6001: 'signature missing',
  6002: 'account does not exist',
  6003: 'user has no permission',
  7: 'system busy',
};

/** retCodes documented as transient conditions: retried like a 5xx. */
export const TRANSIENT_RET_CODES: ReadonlySet<number> = new Set([RetCode.Maintenance, RetCode.SystemBusy]);

/** "System busy": the platform's throttling answer, retried on the throttle budget like an HTTP 429 (not a failure). */
export const THROTTLE_RET_CODES: ReadonlySet<number> = new Set([RetCode.SystemBusy]);

/** retCodes that mean the credentials, signature or clock are wrong: never retried. */
export const AUTH_RET_CODES: ReadonlySet<number> = new Set([
  RetCode.SignatureIncorrect,
  RetCode.SignatureMissing,
  RetCode.AccountNotFound,
  RetCode.NoPermission,
]);
