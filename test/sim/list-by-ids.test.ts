/**
 * Listing tasks by userTaskID: the simulator's listTask queryConditions (counted in its
 * stats) and the client's listTasksByUserTaskIDs (≤ 100 IDs per call, through the rate control).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { NxCloudClient, gotTransport, LIST_IDS_PER_CALL } from '../../src/api/client.js';
import { RateController } from '../../src/concurrency/controller.js';
import { call } from './helpers.js';

const TASKS = 250;
const id = (i: number) => `t-${String(i).padStart(3, '0')}`;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    seed: {
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        userTaskID: id(i),
        sceneID: i % 2 ? 'scene-odd' : 'scene-even',
        taskStatus: (i % 5) + 1,
        taskName: `Task ${i}`,
      })),
    },
  });
});
afterAll(() => sim.close());

async function client(gate?: RateController, realSleep = false) {
  return new NxCloudClient({
    endpoint: sim.url,
    uuid: sim.uuid,
    secretKey: sim.secret,
    algorithm: 'MD5',
    timeoutMs: 5000,
    retries: 3,
    transport: await gotTransport(8),
    gate,
    sleep: realSleep ? undefined : () => Promise.resolve(),
  });
}

const list = (queryConditions: object, size = 100) =>
  call(sim, 'listTask', { productID: 'callbot', page: 1, size, queryConditions });

describe('simulator listTask stats', () => {
  it('counts answered queries by the filters they use, and the IDs asked for', async () => {
    sim.resetStats();
    await list({ userTaskID: [id(1), id(2), 'nope'] });
    await list({ userTaskID: [id(3)], taskStatus: [1, 2] });
    await list({ sceneID: 'scene-odd', taskName: ['Task 1'], startTs: 0, endTs: 2 ** 31 });
    await list({ userTaskID: [], taskStatus: null, sceneID: '' });
    await list({ userTaskID: [id(4)] }, 101); // refused: size above maxPageSize, not counted
    const s = sim.stats();
    expect(s.listTaskQueries).toEqual({
      userTaskID: 2,
      taskStatus: 1,
      taskName: 1,
      sceneID: 1,
      startTs: 1,
      endTs: 1,
      none: 1,
    });
    expect(s.listTaskIDs).toBe(4);
    expect(s.byEndpoint.listTask).toBe(5);
    sim.resetStats();
    expect(sim.stats().listTaskQueries.userTaskID).toBe(0);
  });

  it('filters by userTaskID together with the other conditions', async () => {
    const r = await list({ userTaskID: [id(0), id(1), id(2), id(3)], sceneID: 'scene-odd' });
    expect(r.json?.taskData?.map((t) => t.userTaskID)).toEqual([id(1), id(3)]);
    expect(r.json?.total).toBe(2);
  });
});

describe('NxCloudClient.listTasksByUserTaskIDs', () => {
  it('asks at most 100 IDs per call and returns the known tasks in the order asked', async () => {
    const c = await client();
    const asked: string[][] = [];
    sim.onRequest = (endpoint, body) => {
      if (endpoint === 'listTask')
        asked.push((body as { queryConditions: { userTaskID: string[] } }).queryConditions.userTaskID);
    };
    sim.resetStats();
    const wanted = [...Array.from({ length: TASKS }, (_, i) => id(TASKS - 1 - i)), 'missing-1', id(7), 'missing-2'];
    const found = await c.listTasksByUserTaskIDs(wanted, 2);
    sim.onRequest = undefined;
    expect(found.map((t) => t.userTaskID)).toEqual(Array.from({ length: TASKS }, (_, i) => id(TASKS - 1 - i)));
    expect(found.find((t) => t.userTaskID === id(7))).toMatchObject({ sceneID: 'scene-odd', taskStatus: 3 });
    expect(asked).toHaveLength(3); // 252 distinct IDs: 100 + 100 + 52
    expect(Math.max(...asked.map((a) => a.length))).toBe(LIST_IDS_PER_CALL);
    expect(asked.flat().sort()).toEqual([...new Set(wanted)].sort());
    expect(sim.stats()).toMatchObject({ listTaskQueries: { userTaskID: 3 }, listTaskIDs: 252 });
  });

  it('makes no call for no IDs', async () => {
    const c = await client();
    expect(await c.listTasksByUserTaskIDs([])).toEqual([]);
    expect(c.traffic().calls).toBe(0);
  });

  it('goes through the rate control: throttled answers are waited out and retried', async () => {
    const gate = new RateController({ mode: 'adaptive', ceiling: 4, rateLimit: null });
    const c = await client(gate, true);
    sim.setFaults({ rateLimit: 20, burst: 1, throttleStyle: 'retcode7' });
    try {
      const found = await c.listTasksByUserTaskIDs(
        Array.from({ length: TASKS }, (_, i) => id(i)),
        4,
      );
      expect(found).toHaveLength(TASKS);
      expect(c.traffic().throttled).toBeGreaterThan(0);
      expect(gate.snapshot().inFlight).toBe(0);
    } finally {
      sim.setFaults({ rateLimit: null });
    }
  });
});
