/** Vitest global setup: one PostgreSQL server for the whole run (see postgres.ts). */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, remove } = await startPostgres();
  project.provide('postgres', server);
  return remove;
}
