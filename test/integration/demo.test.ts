import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';

// `npm run demo` is the README's quick start. Regression: its step headings carried ANSI bold
// escapes even when stdout was not a terminal (or under NO_COLOR), unlike callform's own output.
describe('npm run demo', () => {
  it('runs the quick start to exit 0 and writes no colour codes to a pipe', () => {
    const env = { ...process.env };
    delete env.FORCE_COLOR;
    const run = spawnSync(process.execPath, ['dist/demo.js'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('== callform plan --detailed-exitcode');
    expect(run.stdout).toContain('second plan exit code 0');
    // The seed lacks one example task: the plan shows it created, and apply creates it.
    expect(run.stdout).toMatch(/^\+ appointment-confirm-clinic-2026-11 will be created/m);
    expect(run.stdout).toContain('"taskName": "Clinic appointment confirmations');
    // The environments part: one comment for two accounts, staging's overlay, a clean re-plan.
    expect(run.stdout).toContain('### callform plan: 2 environments, 2 with changes, 0 with errors');
    expect(run.stdout).toContain('renewals-2026-q4-west maxCall: staging account 2, prod account 14');
    expect(run.stdout).toContain('environments: apply exit code 0, second plan exit code 0');
    expect(run.stdout).not.toContain('\x1b[');
  }, 90_000);
});
