// Makes the CLI entry executable after tsc (npm links bin files, but a plain `node dist/cli.js` or ./dist/cli.js must work too).
import { chmodSync, existsSync } from 'node:fs';
if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
