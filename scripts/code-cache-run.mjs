// Run by scripts/bundle.mjs (`npm run build`) in the project it writes, with
// CALLFORM_BUILD_CODE_CACHE set and `--all-envs` on its own command line (so dist/cli.js takes
// and, when this process exits, writes the cache of runs over environments): runs in this one
// process `plan --offline` of the examples as they are, then `plan --offline --all-envs` of the
// same tasks in two environments with recorded states. The cache keeps what both compiled.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.argv[2];
const { main } = await import(pathToFileURL(path.join(dist, 'cli.js')).href);
for (const argv of [
  ['plan', '--offline'],
  ['--config', 'callform.environments.yaml', 'plan', '--offline', '--all-envs'],
]) {
  const code = await main(argv);
  if (code !== 0) {
    process.stderr.write(`code cache: callform ${argv.join(' ')} exited ${code}\n`);
    process.exit(1);
  }
}
