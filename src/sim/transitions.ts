/**
 * Task status changes: every change goes through {@link TaskTransitions.set}, which
 * records it in the journal; pauses may land after a delay (pauseDelayMs).
 *
 * A pending pause (decisions; the docs say nothing about a pause that takes time):
 *  - the task stays 2 (running) until the pause lands, then becomes 5 (cause 'pause-delay');
 *  - pause again while pending: accepted, answers 2, keeps the first due time (a retried
 *    pause must not push the pause further out);
 *  - start while pending: cancels the pause, the task stays 2, answers 2;
 *  - finish, or any status set by a person (setStatus / POST /__sim/tasks/:id/status):
 *    the new status wins, the pending pause is dropped;
 *  - updateTask: refused like on any running task (retCode 1), until the pause lands.
 * The due time is measured on the simulator clock (`now`, injectable). A real timer lands
 * the pause on time; with an injected clock, a pause lands once the clock has passed its
 * due time and the simulator looks (any request, control call, or applyDue()).
 */
import { TaskStatus } from '../model/status.js';
import type { SimTask } from './seed.js';
import type { SimStatusCause, SimPendingPause } from './types.js';
import type { Journal } from './journal.js';

/** The timers the transitions need (ServerLifecycle provides them, and cancels them on close). */
export interface TimerHost {
  setTimer(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimer(t: NodeJS.Timeout): void;
}

interface Pending extends SimPendingPause {
  timer: NodeJS.Timeout;
}

export class TaskTransitions {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly tasks: Map<string, SimTask>,
    private readonly journal: Journal,
    private readonly timers: TimerHost,
    private readonly now: () => number,
    private readonly pauseDelayMs: () => number,
  ) {}

  /** Sets the status, recording it when it differs; a pending pause is dropped (the new status decides). */
  set(task: SimTask, to: number, cause: SimStatusCause, at = this.now()): void {
    this.cancelPause(task.userTaskID);
    const from = task.taskStatus;
    if (from === to) return;
    task.taskStatus = to;
    this.journal.addStatusChange({ seq: this.journal.nextSeq(), at, userTaskID: task.userTaskID, from, to, cause });
  }

  /** Pause a running task: at once (returns 5) or after pauseDelayMs (returns 2, pending). */
  pause(task: SimTask): number {
    if (this.pending.has(task.userTaskID)) return task.taskStatus;
    const delay = this.pauseDelayMs();
    if (delay <= 0) {
      this.set(task, TaskStatus.Paused, 'mgrTaskStatus');
      return task.taskStatus;
    }
    const requestedAt = this.now();
    const userTaskID = task.userTaskID;
    const timer = this.timers.setTimer(() => this.onTimer(userTaskID), delay);
    this.pending.set(userTaskID, { requestedAt, dueAt: requestedAt + delay, timer });
    return task.taskStatus;
  }

  /** Drops a pending pause; true when there was one. */
  cancelPause(userTaskID: string): boolean {
    const p = this.pending.get(userTaskID);
    if (!p) return false;
    this.timers.clearTimer(p.timer);
    this.pending.delete(userTaskID);
    return true;
  }

  pendingPause(userTaskID: string): SimPendingPause | null {
    const p = this.pending.get(userTaskID);
    return p ? { requestedAt: p.requestedAt, dueAt: p.dueAt } : null;
  }

  /** Lands every pending pause that is due by the clock, in due-time order. */
  applyDue(): void {
    if (this.pending.size === 0) return;
    const t = this.now();
    const due = [...this.pending.entries()].filter(([, p]) => p.dueAt <= t).sort((a, b) => a[1].dueAt - b[1].dueAt);
    for (const [userTaskID, p] of due) this.land(userTaskID, p);
  }

  private onTimer(userTaskID: string): void {
    const p = this.pending.get(userTaskID);
    if (!p) return;
    const early = p.dueAt - this.now();
    // The timer and the (possibly injected) clock can disagree: wait for the clock.
    if (early > 0) p.timer = this.timers.setTimer(() => this.onTimer(userTaskID), early);
    else this.land(userTaskID, p);
  }

  private land(userTaskID: string, p: Pending): void {
    this.pending.delete(userTaskID);
    this.timers.clearTimer(p.timer);
    const task = this.tasks.get(userTaskID);
    if (task) this.set(task, TaskStatus.Paused, 'pause-delay', p.dueAt);
  }
}
