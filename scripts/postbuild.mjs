// Runs after a successful tsc (`npm run build`).
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
// Makes the CLI entry executable (npm links bin files, but a plain `node dist/cli.js` or ./dist/cli.js must work too).
if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
// Marks dist/ as a complete build of the sources as they are now: the tests' global
// setup (test/support/build-freshness.ts) rebuilds when a source is newer than this.
writeFileSync('dist/.build-stamp', new Date().toISOString() + '\n');
