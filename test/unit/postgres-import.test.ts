import { describe, it, expect } from 'vitest';
import { importEmbeddedPostgres } from '../support/postgres.js';

describe('the test suite’s PostgreSQL import', () => {
  it('leaves no exit hook behind: a failed run must keep its non-zero exit code', async () => {
    const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const counts = () => events.map((e) => process.listenerCount(e));
    const before = counts();
    const EmbeddedPostgres = await importEmbeddedPostgres();
    expect(typeof EmbeddedPostgres).toBe('function');
    expect(counts()).toEqual(before);
  });
});
