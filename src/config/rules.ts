import type { CallformTask } from '../generated/task.js';
import type { PathSegment } from '../diagnostics/source.js';

export interface RuleViolation {
  path: PathSegment[];
  message: string;
  hint: string;
}

/** Values listed twice in a schema-valid comma list of small numbers (0..23), via a bit set. */
function repeated(list: string): string[] {
  let seen = 0;
  let dup = 0;
  for (const item of list.split(',')) {
    const bit = 1 << Number(item);
    if (seen & bit) dup |= bit;
    seen |= bit;
  }
  const out: string[] = [];
  for (let n = 0; dup !== 0; n++, dup >>>= 1) if (dup & 1) out.push(String(n));
  return out;
}

/**
 * Checks JSON Schema cannot express cleanly: repeats inside comma lists and
 * intents claimed by two SMS rules (the API lets the later rule silently win).
 * Runs on a task that already passed the schema.
 */
export function checkTaskRules(task: CallformTask): RuleViolation[] {
  const out: RuleViolation[] = [];
  const tcs = task.taskCreateSetting ?? {};
  for (const field of ['dialAtWeekDay', 'dialAtUpHour', 'dialAtDownHour'] as const) {
    const value = tcs[field];
    if (value === undefined) continue;
    const dups = repeated(value);
    if (dups.length > 0) {
      out.push({
        path: ['taskCreateSetting', field],
        message: `"${value}" repeats ${dups.join(', ')}`,
        hint: 'list each value once',
      });
    }
  }
  const rules = task.funcFlag?.smsFuncFlag ?? [];
  for (const key of ['intentID', 'intentName'] as const) {
    const owner = new Map<string, number>();
    rules.forEach((rule, index) => {
      for (const intent of rule[key] ?? []) {
        const first = owner.get(intent);
        if (first !== undefined && first !== index) {
          out.push({
            path: ['funcFlag', 'smsFuncFlag', index, key],
            message: `${key} "${intent}" is already used by smsFuncFlag[${first}]`,
            hint: 'an intent may trigger one SMS rule only (the API would let the later rule overwrite the earlier one)',
          });
        } else {
          owner.set(intent, index);
        }
      }
    });
  }
  return out;
}
