/** Fault injection: kinds, a tiny deterministic PRNG, and the per-request decision. */

export type FaultKind = 'http500' | 'http503' | 'reset' | 'timeout' | 'retcode' | 'badsign';

export const FAULT_KINDS: readonly FaultKind[] = ['http500', 'http503', 'reset', 'timeout', 'retcode', 'badsign'];

export const DEFAULT_FAULT_SEED = 0x5eed;

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isFaultKind(v: unknown): v is FaultKind {
  return typeof v === 'string' && (FAULT_KINDS as readonly string[]).includes(v);
}

/** Validates a list of fault kinds (throws on unknown names or an empty list). */
export function parseFaultKinds(input: readonly string[] | string): FaultKind[] {
  const list =
    typeof input === 'string'
      ? input
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [...input];
  if (list.length === 0) throw new Error(`fault kinds must not be empty; known kinds: ${FAULT_KINDS.join(', ')}`);
  for (const k of list) {
    if (!isFaultKind(k)) throw new Error(`unknown fault kind "${k}"; known kinds: ${FAULT_KINDS.join(', ')}`);
  }
  return list as FaultKind[];
}

export function checkFaultRate(rate: number): number {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`faultRate must be a number between 0 and 1 (got ${String(rate)})`);
  }
  return rate;
}

/** One draw decides whether to fault; a second picks the kind. */
export function decideFault(rand: () => number, rate: number, kinds: readonly FaultKind[]): FaultKind | undefined {
  if (rate <= 0 || kinds.length === 0) return undefined;
  if (rand() >= rate) return undefined;
  return kinds[Math.floor(rand() * kinds.length)] ?? kinds[0];
}
