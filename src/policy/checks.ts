/** One check per rule kind: a rule's spec → a function of a task's settings. */
import { createRequire } from 'node:module';
import { targetMatcher } from '../plan/targets.js';
import { dialingHoursCheck } from './dialing-hours.js';
import type { Check, Finding, PolicySubject, RuleKind, RuleOf, RuleProblem } from './types.js';

type Problem = Omit<RuleProblem, 'rule'>;
type CompiledCheck = { check: Check; problems: Problem[] };
type Compiler<K extends RuleKind> = (rule: RuleOf<K>, helpers: CheckHelpers) => CompiledCheck;

/** Shared by the checks that need them; ajv is loaded only for a jsonSchema rule. */
export interface CheckHelpers {
  ajv(): JsonSchemaCompiler;
}

export interface JsonSchemaCompiler {
  compile(
    schema: object | boolean,
  ): ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
}

const ok = (check: Check): CompiledCheck => ({ check, problems: [] });

const MEMO_LIMIT = 10_000;

/**
 * A check whose answer depends only on `key` of the task, remembered per key: the same
 * few routes, URLs and windows repeat across thousands of tasks, so each is judged once.
 */
export function memoized(key: (task: PolicySubject) => string, check: Check): Check {
  const memo = new Map<string, Finding | null>();
  return (task) => {
    const k = key(task);
    let found = memo.get(k);
    if (found === undefined) {
      found = check(task);
      if (memo.size < MEMO_LIMIT) memo.set(k, found);
    }
    return found;
  };
}

const show = (v: unknown) => JSON.stringify(v);

const maxCall: Compiler<'maxCall'> = (rule) => {
  const { min, max } = rule;
  const problems: Problem[] = [];
  if (min === undefined && max === undefined)
    problems.push({ at: [], message: 'a maxCall rule needs min, max or both', hint: 'e.g. max: 50' });
  if (min !== undefined && max !== undefined && min > max)
    problems.push({ at: ['min'], message: `min ${min} is above max ${max}`, hint: 'no maxCall could pass: swap them' });
  const path = 'taskCreateSetting.maxCall';
  const check: Check = ({ taskCreateSetting: { maxCall: value } }) => {
    if (value === undefined) return rule.required ? { path, finding: 'maxCall is not declared' } : null;
    if (max !== undefined && value > max) return { path, finding: `maxCall is ${value}, above the maximum ${max}` };
    if (min !== undefined && value < min) return { path, finding: `maxCall is ${value}, below the minimum ${min}` };
    return null;
  };
  return { check, problems };
};

const requiredFuncFlags: Compiler<'requiredFuncFlags'> = (rule) => {
  const wanted = Object.entries(rule.funcFlag) as Array<[keyof typeof rule.funcFlag, boolean]>;
  return ok(({ funcFlag }) => {
    const wrong = wanted.filter(([flag, value]) => funcFlag[flag] !== value);
    if (wrong.length === 0) return null;
    const describe = ([flag, value]: (typeof wrong)[number]) =>
      `${flag} is ${funcFlag[flag] === undefined ? 'not declared' : show(funcFlag[flag])} (must be ${value})`;
    return { path: `funcFlag.${wrong[0][0]}`, finding: wrong.map(describe).join('; ') };
  });
};

const allowedValues: Compiler<'allowedValues'> = (rule) => {
  const matchers = rule.values.map(targetMatcher);
  const path = rule.field === 'sceneID' ? 'sceneID' : `taskCreateSetting.${rule.field}`;
  const valueOf = (task: PolicySubject) =>
    rule.field === 'sceneID' ? task.sceneID : task.taskCreateSetting[rule.field];
  return ok(
    memoized(
      (task) => valueOf(task) ?? '\0unset',
      (task) => {
        const value = valueOf(task);
        if (value === undefined) return rule.required ? { path, finding: `${rule.field} is not declared` } : null;
        if (matchers.some((m) => m.test(value))) return null;
        return { path, finding: `${rule.field} ${show(value)} is not one of ${rule.values.join(', ')}` };
      },
    ),
  );
};

/** The URL's scheme and host, never its credentials (they must not reach any output). */
function urlParts(url: string): { protocol: string; host: string } | null {
  try {
    const u = new URL(url);
    return { protocol: u.protocol.replace(/:$/, ''), host: u.hostname.toLowerCase() };
  } catch {
    return null;
  }
}

const callbackUrl: Compiler<'callbackUrl'> = (rule) => {
  const hosts = rule.hosts.map((h) => targetMatcher(h.toLowerCase()));
  const path = 'taskCreateSetting.taskCallbackUrl';
  return ok(
    memoized(
      (task) => task.taskCreateSetting.taskCallbackUrl ?? '\0unset',
      ({ taskCreateSetting: { taskCallbackUrl } }) => {
        if (taskCallbackUrl === undefined)
          return rule.required ? { path, finding: 'taskCallbackUrl is not declared' } : null;
        const parts = urlParts(taskCallbackUrl);
        if (!parts) return { path, finding: 'taskCallbackUrl is not a URL' };
        const wrong: string[] = [];
        if (parts.protocol !== 'https') wrong.push(`uses ${parts.protocol}, not https`);
        if (!hosts.some((m) => m.test(parts.host)))
          wrong.push(`host ${parts.host} is not one of ${rule.hosts.join(', ')}`);
        return wrong.length > 0 ? { path, finding: `taskCallbackUrl ${wrong.join(', and its ')}` } : null;
      },
    ),
  );
};

const STARTUP_TYPE = { 1: 'manual start', 2: 'scheduled start', 3: 'immediate start' } as const;

const forbiddenStartupTypes: Compiler<'forbiddenStartupTypes'> = (rule) => {
  const forbidden = new Set<number>(rule.values);
  return ok(({ taskCreateSetting: { startupType } }) =>
    startupType !== undefined && forbidden.has(startupType)
      ? {
          path: 'taskCreateSetting.startupType',
          finding: `startupType ${startupType} (${STARTUP_TYPE[startupType]}) is not allowed`,
        }
      : null,
  );
};

/** "/taskCreateSetting/maxRingTime" → "taskCreateSetting.maxRingTime". */
const dotted = (pointer: string) => pointer.slice(1).split('/').join('.');

const jsonSchema: Compiler<'jsonSchema'> = (rule, helpers) => {
  let validate: ReturnType<JsonSchemaCompiler['compile']>;
  try {
    validate = helpers.ajv().compile(rule.schema);
  } catch (err) {
    return {
      check: () => null,
      problems: [
        {
          at: ['schema'],
          message: `not a usable JSON Schema: ${(err as Error).message}`,
          hint: 'draft-07 keywords only; ajv checks it in strict mode (unknown keywords are errors)',
        },
      ],
    };
  }
  return ok((task) => {
    const { source: _source, ...settings } = task;
    if (validate(settings)) return null;
    const errors = validate.errors ?? [];
    const first = errors.at(0);
    const text = errors
      .slice(0, 3)
      .map((e) => `${e.instancePath ? dotted(e.instancePath) : 'the task'} ${e.message ?? 'is not valid'}`);
    return {
      path: first?.instancePath ? dotted(first.instancePath) : undefined,
      finding: text.join('; ') + (errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''),
    } satisfies Finding;
  });
};

export const CHECKS: { [K in RuleKind]: Compiler<K> } = {
  maxCall,
  dialingHours: (rule) => dialingHoursCheck(rule),
  requiredFuncFlags,
  allowedValues,
  callbackUrl,
  forbiddenStartupTypes,
  jsonSchema,
};

/** Ajv with formats, loaded on first use (it is large: only a jsonSchema rule pays for it). */
export function lazyAjv(): () => JsonSchemaCompiler {
  let instance: JsonSchemaCompiler | undefined;
  return () => {
    if (instance) return instance;
    const require = createRequire(import.meta.url);
    const Ajv = (require('ajv') as typeof import('ajv')).default;
    const addFormats = (require('ajv-formats') as typeof import('ajv-formats')).default;
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
    });
    addFormats(ajv, { mode: 'fast' });
    instance = ajv;
    return ajv;
  };
}
