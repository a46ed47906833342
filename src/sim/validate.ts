/**
 * Request-body validation for the simulator, derived from the JSON Schemas: the
 * validators are generated from schemas/api.schema.json (which $refs the task schema's
 * taskCreateSetting and funcFlag), and this module maps their errors to the documented
 * retCodes, reporting one problem with its field path:
 *   2    a required field is missing;
 *   3    wrong type, unknown field, wrong format (pattern, format);
 *   4    wrong value (enum, const, minimum/maximum, multipleOf, length, minItems, uniqueItems);
 *   4001 too many array elements (maxItems).
 * When a body has several problems, the one reported is chosen in this order: unknown
 * field (a misspelt key also explains a "missing" one), missing field, too many elements,
 * wrong type/format, wrong value; ties go to the schema's own order.
 */
import type { AjvError, CompiledValidator } from '../generated/validators.js';
import { RetCode } from '../model/retcode.js';

export class RetCodeError extends Error {
  readonly retCode: number;
  constructor(retCode: number, message: string) {
    super(message);
    this.name = 'RetCodeError';
    this.retCode = retCode;
  }
}

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

/** A value for a message: JSON, shortened. */
function show(v: unknown): string {
  const text = (JSON.stringify(v) as string | undefined) ?? String(v); // undefined for functions and symbols
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}

/**
 * JSON pointer (/funcFlag/smsFuncFlag/0/smsID) -> field path (funcFlag.smsFuncFlag[0].smsID),
 * below `base` (the validated value's own path; '' for a request body, shown as "body").
 */
export function fieldPath(base: string, pointer: string, extra?: string): string {
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segments.push(extra);
  let out = base;
  for (const seg of segments) out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out || 'body';
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** retCode and rank (lower is reported first) of each keyword; anything else is a wrong value. */
const KEYWORD_CLASS: Record<string, { retCode: number; rank: number }> = {
  additionalProperties: { retCode: RetCode.ParameterFormat, rank: 0 },
  required: { retCode: RetCode.ParameterMissing, rank: 1 },
  maxItems: { retCode: RetCode.ContentTooLarge, rank: 2 },
  type: { retCode: RetCode.ParameterFormat, rank: 3 },
  pattern: { retCode: RetCode.ParameterFormat, rank: 3 },
  format: { retCode: RetCode.ParameterFormat, rank: 3 },
};
const WRONG_VALUE = { retCode: RetCode.ParameterValue, rank: 4 };

function classOf(err: AjvError): { retCode: number; rank: number } {
  return KEYWORD_CLASS[err.keyword] ?? WRONG_VALUE;
}

/** "<path> <what is wrong> (got <value>)". */
function describeError(err: AjvError, base: string): string {
  const p = err.params;
  const at = fieldPath(base, err.instancePath);
  const got = `(got ${show(err.data)})`;
  const description = (err.parentSchema as { description?: string } | undefined)?.description;
  switch (err.keyword) {
    case 'required':
      return `${fieldPath(base, err.instancePath, p.missingProperty as string)} is required`;
    case 'additionalProperties':
      return `${fieldPath(base, err.instancePath, p.additionalProperty as string)} is not a known field`;
    case 'type': {
      const types = String(p.type)
        .split(',')
        .map((t) => ARTICLE[t] ?? t);
      return `${at} must be ${types.join(' or ')} (got ${describeValue(err.data)})`;
    }
    case 'enum':
      return `${at} must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')} ${got}`;
    case 'const':
      return `${at} must be ${show(p.allowedValue)} ${got}`;
    case 'pattern':
      return `${at} has the wrong format ${got}: ${description ?? `must match ${p.pattern}`}`;
    case 'format':
      return `${at} is not a valid ${p.format} ${got}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${at} must be ${p.comparison} ${p.limit} ${got}`;
    case 'multipleOf':
      return `${at} must be a multiple of ${p.multipleOf} ${got}`;
    case 'minLength':
      return p.limit === 1 ? `${at} must not be empty` : `${at} must be at least ${p.limit} characters long ${got}`;
    case 'maxLength':
      return `${at} must be at most ${p.limit} characters long (got ${String(err.data).length})`;
    case 'maxItems':
      return `${at} has ${(err.data as unknown[]).length} elements; at most ${p.limit} allowed`;
    case 'minItems':
      return `${at} must have at least ${p.limit} element${p.limit === 1 ? '' : 's'}`;
    case 'uniqueItems':
      return `${at} has a repeated element (elements ${Math.min(p.i as number, p.j as number)} and ${Math.max(p.i as number, p.j as number)} are equal)`;
    default:
      return `${at} ${err.message ?? `fails ${err.keyword}`}`;
  }
}

/** The error to report among all of ajv's (see the module comment); `if`/`anyOf` wrappers are skipped. */
export function pickError(errors: readonly AjvError[]): AjvError | undefined {
  let best: AjvError | undefined;
  for (const err of errors) {
    if (err.keyword === 'if' || err.keyword === 'anyOf' || err.keyword === 'oneOf' || err.keyword === 'allOf') continue;
    if (!best || classOf(err).rank < classOf(best).rank) best = err;
  }
  return best;
}

/** The RetCodeError for a failed validation (undefined when `validate` passed); `base` is the value's path. */
export function schemaError(validate: CompiledValidator, value: unknown, base = ''): RetCodeError | undefined {
  if (validate(value)) return undefined;
  const err = pickError(validate.errors ?? []);
  if (!err) return new RetCodeError(RetCode.ParameterFormat, `${base || 'body'} is not valid`);
  return new RetCodeError(classOf(err).retCode, describeError(err, base));
}

/** Validates `value` with a generated validator; throws the RetCodeError of its first problem. */
export function checkSchema<T>(validate: CompiledValidator, value: unknown, base = ''): T {
  const err = schemaError(validate, value, base);
  if (err) throw err;
  return value as T;
}
