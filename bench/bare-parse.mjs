#!/usr/bin/env node
// The parse floor of figure 8a (bench/scale.mjs): read and parse a project's task files and
// state with nothing else: js-yaml for YAML (the parser callform uses), JSON.parse for JSON
// and the state. No validation, no positions, no defaults, no plan.
//   node bench/bare-parse.mjs DIR     prints the number of task entries parsed
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const yaml = createRequire(import.meta.url)('js-yaml');
const dir = process.argv[2];
const tasksDir = path.join(dir, 'tasks');
const files = (await readdir(tasksDir, { recursive: true })).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
let entries = 0;
await Promise.all(
  files.map(async (f) => {
    const text = await readFile(path.join(tasksDir, f), 'utf8');
    const docs = f.endsWith('.json') ? [JSON.parse(text)] : yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA });
    for (const d of docs) entries += Array.isArray(d?.tasks) ? d.tasks.length : 1;
  }),
);
const state = JSON.parse(await readFile(path.join(dir, 'callform.state.json'), 'utf8'));
process.stdout.write(`${entries} tasks in ${files.length} files, ${Object.keys(state.tasks).length} state entries\n`);
