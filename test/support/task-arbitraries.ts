/**
 * fast-check arbitraries for callform tasks that satisfy schemas/task.schema.json and
 * the extra rules (src/config/rules.ts): startupAt when startupType is 2, comma lists
 * without repeats, rates for dispatchType 1/3, a non-empty smsFuncFlag when smsEnable,
 * each intent in one SMS rule only.
 */
import fc from 'fast-check';
import type {
  CallformTask,
  TaskCreateSetting,
  FuncFlag,
  ManualCallSetting,
  SmsRule,
} from '../../src/generated/task.js';

type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops undefined-valued keys (fc.record with requiredKeys never makes them, but be safe). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Mostly-ASCII identifiers, with some non-ASCII letters: no leading/trailing space, no newline. */
export const idArb = fc.stringMatching(/^[A-Za-z0-9éß中][A-Za-z0-9 _.:éß中-]{0,40}[A-Za-z0-9éß中]$|^[A-Za-z0-9]$/);

/** Any text, including YAML-significant characters ("#", ": ", quotes, newlines). */
const textArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });

const commaList = (lo: number, hi: number) =>
  fc.uniqueArray(fc.integer({ min: lo, max: hi }), { minLength: 1, maxLength: hi - lo + 1 }).map((xs) => xs.join(','));

const rateArb = fc.double({ min: 0.001, max: 1000, noNaN: true, noDefaultInfinity: true });

const manualCallSettingArb: fc.Arbitrary<ManualCallSetting> = fc
  .record(
    {
      agentGroup: idArb,
      dispatchType: fc.constantFrom(0, 1, 3),
      ratioCallRate: rateArb,
      predictCallRate: rateArb,
    },
    { requiredKeys: [] },
  )
  .map((m) => {
    const out = { ...m };
    if (out.dispatchType === 1 && out.ratioCallRate === undefined) out.ratioCallRate = 1.5;
    if (out.dispatchType === 3 && out.predictCallRate === undefined) out.predictCallRate = 2;
    return compact(out);
  });

const taskCreateSettingArb: fc.Arbitrary<TaskCreateSetting> = fc
  .record(
    {
      strategyName: fc.oneof(fc.constant(''), textArb),
      startupType: fc.constantFrom(1, 2, 3),
      startupAt: fc.integer({ min: 0, max: 4_102_444_800 }),
      zoneSecond: fc.integer({ min: -56, max: 56 }).map((q) => q * 900),
      dialAtWeekDay: commaList(1, 7),
      dialAtUpHour: commaList(0, 23),
      dialAtDownHour: commaList(0, 23),
      maxCall: fc.integer({ min: 1, max: 10_000 }),
      taskName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
      taskCallbackUrl: fc.webUrl({ validSchemes: ['http', 'https'] }),
      maxRingTime: fc.integer({ min: 1, max: 600 }),
      routeID: idArb,
      manualCallSetting: manualCallSettingArb,
    },
    { requiredKeys: [] },
  )
  .map((t) => {
    const out = { ...t };
    if (out.startupType === 2 && out.startupAt === undefined) out.startupAt = 1_900_000_000;
    return compact(out);
  });

/** 1..4 SMS rules; intents drawn from disjoint pools so no intent is claimed twice. */
const smsRulesArb: fc.Arbitrary<SmsRule[]> = fc
  .tuple(
    fc.uniqueArray(idArb, { minLength: 0, maxLength: 8 }),
    fc.uniqueArray(idArb, { minLength: 0, maxLength: 8 }),
    fc.array(fc.record({ smsID: idArb, a: fc.nat(), b: fc.nat(), hasIds: fc.boolean(), hasNames: fc.boolean() }), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([ids, names, shapes]) =>
    shapes.map((s, i) => {
      const rule: SmsRule = { smsID: s.smsID };
      const mine = <T>(pool: T[]) => pool.filter((_, k) => k % shapes.length === i);
      if (s.hasIds) rule.intentID = mine(ids);
      if (s.hasNames) rule.intentName = mine(names);
      return rule;
    }),
  );

const funcFlagArb: fc.Arbitrary<FuncFlag> = fc
  .record(
    {
      taskKeep: fc.boolean(),
      roundRedial: fc.boolean(),
      wholeTTS: fc.boolean(),
      smsEnable: fc.boolean(),
      smsFuncFlag: smsRulesArb,
      phoneEncrypt: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .chain((f) =>
    f.smsEnable === true && f.smsFuncFlag === undefined
      ? smsRulesArb.map((r) => ({ ...f, smsFuncFlag: r }))
      : fc.constant(f),
  )
  .map(compact);

export const taskArb: fc.Arbitrary<CallformTask> = fc
  .record(
    { userTaskID: idArb, sceneID: idArb, taskCreateSetting: taskCreateSettingArb, funcFlag: funcFlagArb },
    { requiredKeys: ['userTaskID', 'sceneID'] },
  )
  .map(compact);

export interface Managed {
  taskCreateSetting: TaskCreateSetting;
  funcFlag: FuncFlag;
}

export const managedArb: fc.Arbitrary<Managed> = fc.record({
  taskCreateSetting: taskCreateSettingArb,
  funcFlag: funcFlagArb,
});

/**
 * A "before" that overlaps with `after`: every leaf field is taken from after, from an
 * unrelated settings value, or left out — so diffs mix unchanged, changed, added and
 * removed fields instead of changing everything.
 */
export function overlappingArb(after: Managed): fc.Arbitrary<Managed> {
  return fc
    .tuple(managedArb, fc.infiniteStream(fc.constantFrom('same', 'other', 'none', 'same')))
    .map(([other, choices]) => {
      const it = choices[Symbol.iterator]();
      const pick = (a: unknown, o: unknown): unknown => {
        if (isPlain(a) || isPlain(o)) {
          const keys = new Set([...Object.keys(isPlain(a) ? a : {}), ...Object.keys(isPlain(o) ? o : {})]);
          const out: Plain = {};
          for (const k of keys) {
            const v = pick(isPlain(a) ? a[k] : undefined, isPlain(o) ? o[k] : undefined);
            if (v !== undefined) out[k] = v;
          }
          return out;
        }
        const c: unknown = it.next().value;
        return structuredClone(c === 'same' ? a : c === 'other' ? o : undefined);
      };
      return {
        taskCreateSetting: pick(after.taskCreateSetting, other.taskCreateSetting) as TaskCreateSetting,
        funcFlag: pick(after.funcFlag, other.funcFlag) as FuncFlag,
      };
    });
}

/** Leaf paths of a settings value: plain objects are walked, smsFuncFlag and other arrays are whole values. */
export function leafPaths(
  value: unknown,
  prefix: string[] = [],
  out: Array<[string[], unknown]> = [],
): Array<[string[], unknown]> {
  if (isPlain(value) && prefix.join('.') !== 'funcFlag.smsFuncFlag') {
    for (const [k, v] of Object.entries(value)) leafPaths(v, [...prefix, k], out);
  } else {
    out.push([prefix, value]);
  }
  return out;
}

export function getIn(root: unknown, path: string[]): unknown {
  let node = root;
  for (const k of path) node = isPlain(node) ? node[k] : undefined;
  return node;
}
