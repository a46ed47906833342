// Run by scripts/bundle.mjs (`npm run build`) in the project it writes, with
// CALLFORM_BUILD_CODE_CACHE set: imports dist/cli.js (which writes its V8 code cache when this
// process exits) and runs, in this one process, the plans whose compiled code the cache
// keeps: `plan --offline` of the examples as they are, then `plan --offline --all-envs` of
// the same tasks in two environments with recorded states.
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
