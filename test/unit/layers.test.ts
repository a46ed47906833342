import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mergeLayers, mergeValues, type Layer } from '../../src/model/layers.js';
import { mergeDefaults } from '../../src/config/load-tasks.js';
import { leaves, type Plain } from '../../src/model/settings.js';

const origin = (kind: Layer['origin']['kind'], file: string): Layer['origin'] => ({
  kind,
  file,
  locate: () => undefined,
});
const layer = (kind: Layer['origin']['kind'], value: Plain): Layer => ({ origin: origin(kind, `${kind}.yaml`), value });

describe('layered merge', () => {
  it('merges maps deeply, replaces arrays whole, and removes a field set to null', () => {
    const merged = mergeLayers([
      layer('defaults', { taskCreateSetting: { maxCall: 3, manualCallSetting: { agentGroup: 'g', dispatchType: 1 } } }),
      layer('task', {
        taskCreateSetting: { maxCall: 20 },
        funcFlag: { smsFuncFlag: [{ smsID: 'a' }, { smsID: 'b' }], roundRedial: true },
      }),
      layer('overlay', {
        taskCreateSetting: { manualCallSetting: { dispatchType: 2 } },
        funcFlag: { smsFuncFlag: [{ smsID: 'c' }], roundRedial: null },
      }),
      layer('environment', { taskCreateSetting: { maxCall: 1 } }),
    ]);
    expect(merged.value).toEqual({
      taskCreateSetting: { maxCall: 1, manualCallSetting: { agentGroup: 'g', dispatchType: 2 } },
      funcFlag: { smsFuncFlag: [{ smsID: 'c' }] },
    });
    expect(merged.fields.get('taskCreateSetting.maxCall')).toEqual({
      value: 1,
      layer: 3,
      overrode: [
        { value: 3, layer: 0 },
        { value: 20, layer: 1 },
      ],
    });
    expect(merged.fields.get('funcFlag.smsFuncFlag')?.overrode).toEqual([
      { value: [{ smsID: 'a' }, { smsID: 'b' }], layer: 1 },
    ]);
    expect(merged.removed).toEqual([{ path: 'funcFlag.roundRedial', layer: 2, overrode: [{ value: true, layer: 1 }] }]);
  });

  it('keeps a __proto__ key an own field (then refused by the schema), never a prototype', () => {
    const patch = JSON.parse('{"taskCreateSetting":{"__proto__":{"polluted":1}}}') as Plain;
    const out = mergeValues({ taskCreateSetting: { maxCall: 1 } }, [patch]);
    expect(Object.keys(out.taskCreateSetting as object)).toEqual(['maxCall', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // Layers over a few fields, scalars, a whole-value array, nested maps; patches may hold nulls.
  const scalar = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom('a', 'b'), fc.boolean());
  const tcs = (withNull: boolean) =>
    fc.record(
      {
        maxCall: withNull ? fc.option(scalar, { nil: null }) : scalar,
        taskName: withNull ? fc.option(scalar, { nil: null }) : scalar,
        manualCallSetting: fc.record(
          { agentGroup: withNull ? fc.option(scalar, { nil: null }) : scalar, dispatchType: scalar },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
  const ff = (withNull: boolean) =>
    fc.record(
      {
        roundRedial: withNull ? fc.option(scalar, { nil: null }) : scalar,
        smsFuncFlag: fc.array(fc.record({ smsID: scalar }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
  const settings = (withNull: boolean) =>
    fc.record(
      {
        sceneID: fc.constantFrom('s1', 's2'),
        taskCreateSetting: withNull ? fc.option(tcs(true), { nil: null }) : tcs(false),
        funcFlag: withNull ? fc.option(ff(true), { nil: null }) : ff(false),
      },
      { requiredKeys: [] },
    );

  it('gives the plan the settings explain reports, field by field (random layers, nulls included)', () => {
    fc.assert(
      fc.property(
        settings(false),
        settings(false),
        fc.array(settings(true), { maxLength: 4 }),
        (defaults, task, patches) => {
          // The plan path: the loader's defaults merge, then the environment's patches.
          const planned = mergeValues(mergeDefaults(defaults, task) as Plain, patches);
          // explain: every layer with provenance.
          const explained = mergeLayers([
            layer('defaults', defaults),
            layer('task', task),
            ...patches.map((p) => layer('overlay', p)),
          ]);
          const nonEmpty = (entries: Array<[string, unknown]>) =>
            entries.filter(
              ([, v]) => !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0),
            );
          const fromPlan = new Map(nonEmpty(leaves(planned, '')));
          const fromExplain = new Map(nonEmpty([...explained.fields].map(([p, f]) => [p, f.value])));
          expect(fromExplain).toEqual(fromPlan);
          expect(explained.value).toEqual(planned);
          // A removed field is not in the result.
          for (const r of explained.removed) expect(fromPlan.has(r.path)).toBe(false);
        },
      ),
      { numRuns: 200, seed: 17 },
    );
  });
});
