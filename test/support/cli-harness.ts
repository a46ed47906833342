/**
 * The integration tests' entry to the shared helpers (test/support/project.ts): kept so that
 * existing imports work. New tests may import from project.ts or temp.ts directly.
 */
export { REPO_ROOT as REPO } from './repo.js';

/** Runs the real CLI binary as a user would (non-TTY stdin, no colours, no outer NXCLOUD_*). */
export { runCli, tempProject, type TempProject } from './project.js';
