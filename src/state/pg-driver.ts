/**
 * node-postgres, loaded without a cost it pays on Node 20. To tell whether it runs in a
 * Cloudflare Worker, pg (lib/stream.js) reads `navigator.userAgent` and, where there is no
 * `navigator` (Node 20; Node ≥ 21 has one), constructs a global `Response`: Node then loads
 * its whole fetch implementation, tens of milliseconds at the start of every command that
 * uses the database (figures 18a, 18b). A navigator like Node 21's is defined only while pg
 * loads, synchronously, so no other code can see it.
 */
import { createRequire } from 'node:module';
import type * as Pg from 'pg';

function load(): typeof Pg {
  const require = createRequire(import.meta.url);
  if ('navigator' in globalThis) return require('pg') as typeof Pg;
  const userAgent = `Node.js/${process.versions.node.split('.')[0]}`;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent }, configurable: true });
  try {
    return require('pg') as typeof Pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

export const pg = load();
