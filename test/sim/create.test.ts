/** The simulator's createTask: validation, duplicates, the new task, faults, latency, rate limits, stats. */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { CREATED_TASK_DEFAULTS } from '../../src/sim/handlers.js';
import { call, seedCopy } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: seedCopy() });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setFaults({ faultRate: 0, latencyMs: 0, rateLimit: null });
  sim.resetStats();
});

let n = 0;
const fresh = () => `new-${n++}`;
const create = (body: unknown) => call(sim, 'createTask', body);
const valid = (userTaskID = fresh()) => ({ productID: 'callbot', userTaskID, sceneID: 'scene-9' });

describe('simulator createTask', () => {
  it('creates the task: status 1, platform defaults, listed by listTask, counted in stats', async () => {
    const id = fresh();
    const r = await create(valid(id));
    expect(r.verified).toBe(true);
    expect(r.json).toMatchObject({ retCode: 0, retMsg: 'success' });
    expect(r.json?.taskID).toMatch(/^C[0-9A-F]{12}$/);
    expect(sim.tasks.get(id)).toMatchObject({
      userTaskID: id,
      sceneID: 'scene-9',
      taskID: r.json?.taskID,
      taskStatus: 1,
      ...structuredClone(CREATED_TASK_DEFAULTS),
    });
    const listed = await call(sim, 'listTask', {
      productID: 'callbot',
      page: 1,
      size: 10,
      queryConditions: { userTaskID: [id] },
    });
    expect(listed.json?.taskData).toEqual([
      expect.objectContaining({ userTaskID: id, sceneID: 'scene-9', taskStatus: 1, taskID: r.json?.taskID }),
    ]);
    expect(sim.stats()).toMatchObject({ creates: 1, duplicateCreates: 0, byEndpoint: { createTask: 1 } });
    // updateTask works on it at once.
    const u = await call(sim, 'updateTask', { ...valid(id), taskCreateSetting: { maxCall: 7 } });
    expect(u.json?.retCode).toBe(0);
    expect(sim.tasks.get(id)?.taskCreateSetting.maxCall).toBe(7);
  });

  it('refuses a userTaskID that exists (seeded or created) with retCode 4, and changes nothing', async () => {
    const seeded = await create({ ...valid('task-a'), sceneID: 'scene-1' });
    expect(seeded.json).toMatchObject({ retCode: 4, retMsg: 'userTaskID "task-a" already exists' });
    expect(seeded.verified).toBe(true);
    const id = fresh();
    await create(valid(id));
    const before = structuredClone(sim.tasks.get(id));
    const again = await create({ ...valid(id), sceneID: 'scene-other' });
    expect(again.json?.retCode).toBe(4);
    expect(sim.tasks.get(id)).toEqual(before);
    expect(sim.stats()).toMatchObject({ creates: 1, duplicateCreates: 2 });
  });

  it('validates the body from the schema: missing fields 2, unknown fields (settings) 3, bad values 4', async () => {
    const { sceneID: _s, ...noScene } = valid();
    const missing = (await create(noScene)).json;
    expect([missing?.retCode, missing?.retMsg]).toEqual([2, 'sceneID is required']);
    const withSettings = (await create({ ...valid(), taskCreateSetting: { maxCall: 2 } })).json;
    expect(withSettings?.retCode).toBe(3);
    expect(withSettings?.retMsg).toContain('taskCreateSetting');
    expect((await create({ ...valid(), productID: 'other' })).json?.retCode).toBe(4);
    expect((await create({ ...valid(), userTaskID: '' })).json?.retCode).toBe(4);
    expect(sim.stats().creates).toBe(0);
  });

  it('faults: a refused or lost answer creates nothing, except badsign (created, answer unverifiable)', async () => {
    sim.setFaults({ faultRate: 1, faultKinds: ['http503'] });
    const a = fresh();
    expect((await create(valid(a))).status).toBe(503);
    expect(sim.tasks.has(a)).toBe(false);
    sim.setFaults({ faultKinds: ['badsign'] });
    const b = fresh();
    const r = await create(valid(b));
    expect(r.json?.retCode).toBe(0);
    expect(r.verified).toBe(false);
    expect(sim.tasks.has(b)).toBe(true);
    expect(sim.stats()).toMatchObject({ creates: 1, faults: { http503: 1, badsign: 1 } });
  });

  it('latency and the rate limit apply to createTask like any endpoint', async () => {
    sim.setFaults({ latencyMs: 60 });
    const t0 = Date.now();
    await create(valid());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    sim.setFaults({ latencyMs: 0, rateLimit: 1, burst: 1, throttleStyle: 'http429' });
    const codes = [(await create(valid())).status, (await create(valid())).status];
    expect(codes).toEqual([200, 429]);
    expect(sim.stats().throttledByEndpoint.createTask).toBe(1);
  });
});
