/**
 * Request-body validation for the simulator. Every failure is an {@link RetCodeError}
 * carrying the documented retCode: 2 missing, 3 wrong format/type, 4 wrong value,
 * 4001 too many elements.
 */
import type { TaskCreateSetting, FuncFlag, ManualCallSetting, SmsRule } from '../generated/task.js';
import { RetCode } from '../model/retcode.js';

export class RetCodeError extends Error {
  readonly retCode: number;
  constructor(retCode: number, message: string) {
    super(message);
    this.name = 'RetCodeError';
    this.retCode = retCode;
  }
}

export type FieldKind = 'string' | 'integer' | 'number' | 'boolean';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `non-integer number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v;
}

function matchesKind(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

const ARTICLE: Record<FieldKind, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean' };

export function checkKind(v: unknown, kind: FieldKind, path: string): void {
  if (!matchesKind(v, kind)) {
    throw new RetCodeError(RetCode.ParameterFormat, `${path} must be ${ARTICLE[kind]} (got ${describeValue(v)})`);
  }
}

/** Required field: absent/undefined -> 2; wrong type -> 3. */
export function requireField<T>(obj: Record<string, unknown>, key: string, kind: FieldKind, path = key): T {
  if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) {
    throw new RetCodeError(RetCode.ParameterMissing, `${path} is required`);
  }
  checkKind(obj[key], kind, path);
  return obj[key] as T;
}

/** Optional field: absent -> undefined; present with wrong type -> 3. */
export function optionalField<T>(obj: Record<string, unknown>, key: string, kind: FieldKind, path = key): T | undefined {
  if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) return undefined;
  checkKind(obj[key], kind, path);
  return obj[key] as T;
}

export function rejectUnknownKeys(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new RetCodeError(RetCode.ParameterFormat, `${path ? path + '.' : ''}${k} is not a known field`);
    }
  }
}

export function checkEnum(v: number, allowed: readonly number[], path: string): void {
  if (!allowed.includes(v)) {
    throw new RetCodeError(RetCode.ParameterValue, `${path} must be one of ${allowed.join(', ')} (got ${v})`);
  }
}

const TCS_FIELDS: Record<string, FieldKind | 'manualCallSetting'> = {
  strategyName: 'string',
  startupType: 'integer',
  startupAt: 'integer',
  zoneSecond: 'integer',
  dialAtWeekDay: 'string',
  dialAtUpHour: 'string',
  dialAtDownHour: 'string',
  maxCall: 'integer',
  taskName: 'string',
  taskCallbackUrl: 'string',
  maxRingTime: 'integer',
  routeID: 'string',
  manualCallSetting: 'manualCallSetting',
};

const MCS_FIELDS: Record<string, FieldKind> = {
  agentGroup: 'string',
  dispatchType: 'integer',
  ratioCallRate: 'number',
  predictCallRate: 'number',
};

const FF_FIELDS: Record<string, FieldKind | 'smsFuncFlag'> = {
  taskKeep: 'boolean',
  roundRedial: 'boolean',
  wholeTTS: 'boolean',
  smsEnable: 'boolean',
  smsFuncFlag: 'smsFuncFlag',
  phoneEncrypt: 'boolean',
};

const SMS_RULE_FIELDS = ['smsID', 'intentID', 'intentName'] as const;
/** Cap on array sizes in request bodies (retCode 4001 beyond it). */
export const MAX_ARRAY_ITEMS = 1000;

function checkObject(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw new RetCodeError(RetCode.ParameterFormat, `${path} must be an object (got ${describeValue(v)})`);
  return v;
}

export function checkArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new RetCodeError(RetCode.ParameterFormat, `${path} must be an array (got ${describeValue(v)})`);
  if (v.length > MAX_ARRAY_ITEMS) {
    throw new RetCodeError(RetCode.ContentTooLarge, `${path} has ${v.length} elements; at most ${MAX_ARRAY_ITEMS} allowed`);
  }
  return v;
}

export function checkStringArray(v: unknown, path: string): string[] {
  const arr = checkArray(v, path);
  arr.forEach((x, i) => checkKind(x, 'string', `${path}[${i}]`));
  return arr as string[];
}

export function checkIntegerArray(v: unknown, path: string): number[] {
  const arr = checkArray(v, path);
  arr.forEach((x, i) => checkKind(x, 'integer', `${path}[${i}]`));
  return arr as number[];
}

/** Validates a (partial) taskCreateSetting; returns a deep copy. */
export function validateTaskCreateSetting(v: unknown, path = 'taskCreateSetting'): TaskCreateSetting {
  const obj = checkObject(v, path);
  rejectUnknownKeys(obj, Object.keys(TCS_FIELDS), path);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(TCS_FIELDS)) {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) continue;
    const value = obj[key];
    const p = `${path}.${key}`;
    if (kind === 'manualCallSetting') {
      out[key] = validateManualCallSetting(value, p);
      continue;
    }
    checkKind(value, kind, p);
    if (key === 'startupType') checkEnum(value as number, [1, 2, 3], p);
    out[key] = value;
  }
  return out as TaskCreateSetting;
}

function validateManualCallSetting(v: unknown, path: string): ManualCallSetting {
  const obj = checkObject(v, path);
  rejectUnknownKeys(obj, Object.keys(MCS_FIELDS), path);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(MCS_FIELDS)) {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) continue;
    const p = `${path}.${key}`;
    checkKind(obj[key], kind, p);
    if (key === 'dispatchType') checkEnum(obj[key] as number, [0, 1, 3], p);
    out[key] = obj[key];
  }
  return out as ManualCallSetting;
}

/** Validates a (partial) funcFlag; returns a deep copy. */
export function validateFuncFlag(v: unknown, path = 'funcFlag'): FuncFlag {
  const obj = checkObject(v, path);
  rejectUnknownKeys(obj, Object.keys(FF_FIELDS), path);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(FF_FIELDS)) {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) continue;
    const p = `${path}.${key}`;
    if (kind === 'smsFuncFlag') {
      out[key] = checkArray(obj[key], p).map((rule, i) => validateSmsRule(rule, `${p}[${i}]`));
      continue;
    }
    checkKind(obj[key], kind, p);
    out[key] = obj[key];
  }
  return out as FuncFlag;
}

function validateSmsRule(v: unknown, path: string): SmsRule {
  const obj = checkObject(v, path);
  rejectUnknownKeys(obj, SMS_RULE_FIELDS, path);
  const rule: SmsRule = { smsID: requireField<string>(obj, 'smsID', 'string', `${path}.smsID`) };
  if (obj.intentID !== undefined) rule.intentID = [...checkStringArray(obj.intentID, `${path}.intentID`)];
  if (obj.intentName !== undefined) rule.intentName = [...checkStringArray(obj.intentName, `${path}.intentName`)];
  return rule;
}
