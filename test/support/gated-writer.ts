/**
 * A state write function whose writes complete only when the test releases them, for
 * ordering tests: "X is durable before call Y starts" holds only if Y cannot start while
 * the write of X is still in flight. `durable` is what a kill at this instant would leave
 * on disk (the last released snapshot).
 */
import type { CallformState } from '../../src/generated/state.js';

export interface HeldWrite {
  snapshot: CallformState;
  release(): void;
  fail(err: Error): void;
}

export class WriteGate {
  /** Writes started and not yet released, oldest first. */
  readonly held: HeldWrite[] = [];
  /** Every snapshot released so far (what reached the disk, in order). */
  readonly released: CallformState[] = [];
  /** Once true, writes complete as soon as they start. */
  auto = false;

  get durable(): CallformState | undefined {
    return this.released[this.released.length - 1];
  }

  /** The write function for a StateWriter. */
  readonly write = (_path: string, s: CallformState): Promise<void> => {
    const snapshot = structuredClone(s); // serialised at the start, as writeStateFile does
    if (this.auto) {
      this.released.push(snapshot);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const held: HeldWrite = {
        snapshot,
        release: () => {
          this.held.splice(this.held.indexOf(held), 1);
          this.released.push(snapshot);
          resolve();
        },
        fail: (err) => {
          this.held.splice(this.held.indexOf(held), 1);
          reject(err);
        },
      };
      this.held.push(held);
    });
  };

  /** Releases every held write and lets later ones through at once. */
  open(): void {
    this.auto = true;
    for (const h of [...this.held]) h.release();
  }
}

/**
 * Lets every pending promise chain, timer-free, run as far as it can: a call that does
 * not wait for a held write has started once this returns.
 */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
