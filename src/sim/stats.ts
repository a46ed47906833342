/** Request counters (`sim.stats()`, `GET /__sim/stats`). */
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { LIST_TASK_CONDITIONS, SIM_ENDPOINTS, type SimEndpoint, type SimStats } from './types.js';
import type { ListTaskRequest } from '../generated/api.js';

function emptyStats(): SimStats {
  return {
    requests: 0,
    byEndpoint: Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, 0])),
    authFailures: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])),
    updates: 0,
    creates: 0,
    duplicateCreates: 0,
    listTaskQueries: {
      ...Object.fromEntries(LIST_TASK_CONDITIONS.map((c) => [c, 0])),
      none: 0,
    } as SimStats['listTaskQueries'],
    listTaskIDs: 0,
    throttled: 0,
    throttledByEndpoint: Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, 0])),
  };
}

export class StatsKeeper {
  private stats = emptyStats();

  request(endpoint: SimEndpoint): void {
    this.stats.requests++;
    this.stats.byEndpoint[endpoint] = (this.stats.byEndpoint[endpoint] ?? 0) + 1;
  }

  authFailure(): void {
    this.stats.authFailures++;
  }

  fault(kind: FaultKind): void {
    this.stats.faults[kind] = (this.stats.faults[kind] ?? 0) + 1;
  }

  throttled(endpoint: SimEndpoint): void {
    this.stats.throttled++;
    this.stats.throttledByEndpoint[endpoint] = (this.stats.throttledByEndpoint[endpoint] ?? 0) + 1;
  }

  /** A successful createTask. */
  create(): void {
    this.stats.creates++;
  }

  /** A createTask refused: the userTaskID exists. */
  duplicateCreate(): void {
    this.stats.duplicateCreates++;
  }

  /** A successful updateTask. */
  update(): void {
    this.stats.updates++;
  }

  /** An answered listTask query: which filters it used (an empty or null one filters nothing). */
  listQuery(conditions: ListTaskRequest['queryConditions']): void {
    const used = LIST_TASK_CONDITIONS.filter((c) => {
      const v = conditions[c];
      return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
    });
    for (const c of used) this.stats.listTaskQueries[c]++;
    if (used.length === 0) this.stats.listTaskQueries.none++;
    this.stats.listTaskIDs += conditions.userTaskID?.length ?? 0;
  }

  /** A copy: callers may keep or change it freely. */
  snapshot(): SimStats {
    return structuredClone(this.stats);
  }

  reset(): void {
    this.stats = emptyStats();
  }
}
