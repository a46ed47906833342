import type { AjvError } from '../generated/validators.js';
import type { Issue } from './issue.js';
import type { PathSegment, SourceDocument } from './source.js';
import { editDistance } from './suggest.js';

/** JSON pointer (/a/0/b) → path segments, numbers for array indexes. */
function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON.stringify says "null"
  const text = JSON.stringify(value) as string | undefined; // undefined for undefined and functions
  if (text === undefined) return String(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** "integer 5", "string \"x\"", "null" (not "null null"), "nothing" (an empty document), "Infinity (not a finite number)". */
function gotValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return `${String(value)} (not a finite number)`;
  return `${typeName(value)} ${show(value)}`;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = editDistance(word, c);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** The parts of a schema node the messages read (ajv types `parentSchema` as any). */
interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode | undefined>;
}

function schemaOf(err: AjvError): SchemaNode | undefined {
  return err.parentSchema as SchemaNode | undefined;
}

interface Described {
  message: string;
  hint?: string;
  /** Extra segment (missing or unknown key) that locates the problem more precisely. */
  extra?: PathSegment;
}

function describe(err: AjvError): Described | undefined {
  const description = schemaOf(err)?.description;
  const p = err.params;
  switch (err.keyword) {
    case 'required':
      // A field required by another's value (startupType 2 → startupAt) is explained by its rule.
      return {
        message: `missing required field "${p.missingProperty}"`,
        hint: fieldHint(err, String(p.missingProperty)) ?? description,
        extra: undefined,
      };
    case 'additionalProperties': {
      const allowed = Object.keys(schemaOf(err)?.properties ?? {}).filter((k) => k !== '$schema');
      const guess = closest(String(p.additionalProperty), allowed);
      if (p.additionalProperty === '<<') {
        return {
          message: 'YAML merge keys (<<) are not supported',
          hint: 'share settings with a `defaults:` block in a task collection (see docs/configuration.md)',
          extra: String(p.additionalProperty),
        };
      }
      return {
        message: `unknown field "${p.additionalProperty}"${guess ? ` (did you mean "${guess}"?)` : ''}`,
        hint: allowed.length ? `allowed fields here: ${allowed.join(', ')}` : 'remove it',
        extra: String(p.additionalProperty),
      };
    }
    case 'type':
      return {
        message: `must be ${String(p.type).replace(',', ' or ')}, got ${gotValue(err.data)}`,
        hint: description,
      };
    case 'enum':
      return {
        message: `must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}; got ${show(err.data)}`,
        hint: description,
      };
    case 'const':
      return { message: `must be ${show(p.allowedValue)}; got ${show(err.data)}`, hint: description };
    case 'pattern':
      return { message: `${show(err.data)} has the wrong format`, hint: description ?? `must match ${p.pattern}` };
    case 'format':
      return { message: `${show(err.data)} is not a valid ${p.format}`, hint: description };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { message: `must be ${p.comparison} ${p.limit}; got ${show(err.data)}`, hint: description };
    case 'multipleOf':
      return { message: `must be a multiple of ${p.multipleOf}; got ${show(err.data)}`, hint: description };
    case 'minLength':
      return {
        message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters long`,
        hint: description,
      };
    case 'maxLength':
      return { message: `must be at most ${p.limit} characters long`, hint: description };
    case 'minItems':
      return { message: `must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}`, hint: description };
    case 'uniqueItems':
      return { message: `has a repeated item (items ${p.j} and ${p.i} are equal)`, hint: description };
    case 'if':
    case 'propertyNames':
    case 'oneOf':
    case 'anyOf':
    case 'discriminator':
      // The branch errors that explain these are reported on their own.
      return undefined;
    default:
      return { message: err.message ?? err.keyword, hint: description };
  }
}

function fieldHint(err: AjvError, field: string): string | undefined {
  return schemaOf(err)?.properties?.[field]?.description;
}

export interface IssueContext {
  file: string;
  /** Path of the validated value inside the document (e.g. ['tasks', 2]). */
  basePath: PathSegment[];
  /** Documents to search for the position, in order (a task item first, then its defaults). */
  sources: Array<{ doc: SourceDocument; basePath: PathSegment[] }>;
}

/** Turns ajv errors into located, human issues, dropping duplicates. */
export function ajvIssues(errors: AjvError[] | null | undefined, ctx: IssueContext): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  // A value of the wrong type also fails its enum or const, which names what is allowed: say that once.
  const listed = new Set(
    (errors ?? []).filter((e) => e.keyword === 'enum' || e.keyword === 'const').map((e) => e.instancePath),
  );
  for (const err of errors ?? []) {
    if (err.keyword === 'type' && listed.has(err.instancePath)) continue;
    const found = describe(err);
    if (!found) continue;
    // A key that breaks propertyNames (an environment name) is located at that key, not the object.
    const named = (err as AjvError & { propertyName?: string }).propertyName;
    const described = named !== undefined && found.extra === undefined ? { ...found, extra: named } : found;
    const rel = pointerToPath(err.instancePath);
    const located = described.extra !== undefined ? [...rel, described.extra] : rel;
    const path = formatPath([...ctx.basePath, ...located]);
    const key = `${path}|${described.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // A missing field is placed at the key of the object that lacks it (`taskCreateSetting:`),
    // not at that object's first entry.
    const atKey =
      described.extra !== undefined || (err.keyword === 'required' && typeof rel[rel.length - 1] === 'string');
    let position;
    for (const src of ctx.sources) {
      position = src.doc.locate([...src.basePath, ...located], true, atKey);
      if (position) break;
    }
    const first = ctx.sources.at(0);
    if (!position && first) position = first.doc.locate([...first.basePath, ...located]);
    issues.push({
      file: ctx.file,
      position,
      path: path || undefined,
      message: described.message,
      hint: described.hint,
    });
  }
  return issues;
}
