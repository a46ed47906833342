/**
 * The journal: per task, the ordered status changes and API calls, for tests
 * (`sim.history()`, `sim.log()`, `GET /__sim/tasks/:id/history`, `GET /__sim/log`).
 * One sequence number is shared by all entries of all tasks. Memory is bounded: per task
 * at most `limit` status changes and `limit` calls are kept, the oldest dropped first
 * (and counted); only tasks in the store get entries, and the store never grows.
 */
import { HISTORY_LIMIT, type SimStatusChange, type SimCallRecord, type SimLogEntry } from './types.js';

interface Bounded<T> {
  items: T[];
  dropped: number;
}

interface TaskJournal {
  statusChanges: Bounded<SimStatusChange>;
  calls: Bounded<SimCallRecord>;
}

export class Journal {
  private seq = 0;
  private readonly tasks = new Map<string, TaskJournal>();

  constructor(private readonly limit: number = HISTORY_LIMIT) {}

  /** The next sequence number (taken when an event happens, so seq order is event order). */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The highest sequence number handed out so far. */
  get lastSeq(): number {
    return this.seq;
  }

  addStatusChange(change: SimStatusChange): void {
    this.push(this.of(change.userTaskID).statusChanges, change);
  }

  addCall(record: SimCallRecord): void {
    this.push(this.of(record.userTaskID).calls, record);
  }

  /** Copies of one task's entries. */
  history(userTaskID: string): {
    statusChanges: SimStatusChange[];
    calls: SimCallRecord[];
    dropped: { statusChanges: number; calls: number };
  } {
    const j = this.tasks.get(userTaskID);
    return {
      statusChanges: j ? j.statusChanges.items.map((e) => ({ ...e })) : [],
      calls: j ? j.calls.items.map((e) => ({ ...e })) : [],
      dropped: { statusChanges: j?.statusChanges.dropped ?? 0, calls: j?.calls.dropped ?? 0 },
    };
  }

  /** All kept entries with seq > sinceSeq, ordered by seq. */
  log(sinceSeq = 0): SimLogEntry[] {
    const out: SimLogEntry[] = [];
    for (const j of this.tasks.values()) {
      for (const e of j.statusChanges.items) if (e.seq > sinceSeq) out.push({ kind: 'status', ...e });
      for (const e of j.calls.items) if (e.seq > sinceSeq) out.push({ kind: 'call', ...e });
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets every entry; seq keeps counting up, so later entries still sort after earlier ones. */
  clear(): void {
    this.tasks.clear();
  }

  private of(userTaskID: string): TaskJournal {
    let j = this.tasks.get(userTaskID);
    if (!j) {
      j = { statusChanges: { items: [], dropped: 0 }, calls: { items: [], dropped: 0 } };
      this.tasks.set(userTaskID, j);
    }
    return j;
  }

  private push<T>(list: Bounded<T>, item: T): void {
    list.items.push(item);
    if (list.items.length > this.limit) {
      list.items.shift();
      list.dropped++;
    }
  }
}
