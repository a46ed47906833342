/**
 * The two state backends for the tests that run on both (docs/testing.md, "Both state
 * backends"): a project's state in its file, or in the suite's PostgreSQL server (one schema
 * per test file, one state name per project), read and written the same way.
 *
 *   const stores = stateStores('reconcile'); // module level: the schema is dropped after the file
 *   for (const kind of STORE_KINDS) it(`… (${kind} state)`, async () => {
 *     const store = await stores(kind, project); // points the project's settings at it
 *     await runCli(args, { cwd: project.dir, env: { ...env, ...store.env } });
 *     expect((await store.state()).serial).toBe(3);
 *   });
 */
import { afterAll } from 'vitest';
import { parse, stringify } from 'yaml';
import type { CallformState } from '../../src/generated/state.js';
import { adminQuery, dropSchema, freshSchema, pgEnv, pgStateSetting, storedState } from './pg-state.js';
import type { TempProject } from './project.js';

export const STORE_KINDS = ['file', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface TestStore {
  kind: StoreKind;
  /** What the CLI's environment needs to reach the store (the database URL). */
  env: Record<string, string>;
  /** The stored state, or null when there is none. */
  read(): Promise<CallformState | null>;
  /** The stored state; throws when there is none. */
  state(): Promise<CallformState>;
  /** Replaces the stored state, as another writer would (no lock, no compare-and-swap). */
  write(state: CallformState): Promise<void>;
}

/**
 * A factory of stores for one test file: `postgres` ones live in a schema of their own,
 * dropped after the file's tests.
 */
export function stateStores(tag: string): (kind: StoreKind, project: TempProject) => Promise<TestStore> {
  const schema = freshSchema(tag);
  let used = false;
  let names = 0;
  afterAll(async () => {
    if (used) await dropSchema(schema);
  });
  return async (kind, project) => {
    if (kind === 'file')
      return {
        kind,
        env: {},
        read: () => project.readState(),
        state: () => project.state(),
        write: (state) => project.write(project.statePath.slice(project.dir.length + 1), state),
      };
    used = true;
    const name = `s${++names}`;
    const config = (parse(await project.read('callform.config.yaml')) ?? {}) as Record<string, unknown>;
    await project.write('callform.config.yaml', stringify({ ...config, state: pgStateSetting(schema, name) }));
    const read = () => storedState(schema, name);
    return {
      kind,
      env: pgEnv(),
      read,
      state: async () => {
        const s = await read();
        if (!s) throw new Error(`no state stored under ${schema}.${name}`);
        return s;
      },
      write: async (state) => {
        await adminQuery(
          `INSERT INTO "${schema}".states (name, lineage, serial, data) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial, data = EXCLUDED.data`,
          [name, state.lineage, state.serial, JSON.stringify(state)],
        );
      },
    };
  };
}
