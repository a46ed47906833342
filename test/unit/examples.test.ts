import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadTasks } from '../../src/config/load-tasks.js';
import { loadPolicy } from '../../src/config/load-policy.js';
import { loadSettings } from '../../src/config/settings.js';
import { evaluatePolicy, blockingViolations } from '../../src/policy/index.js';
import { loadSeedFile } from '../../src/sim/index.js';
import { REPO } from '../support/cli-harness.js';

const EXAMPLES = path.join(REPO, 'examples');
const COMMANDS = [
  'validate',
  'plan',
  'apply',
  'show',
  'init',
  'sim',
  'force-unlock',
  'doctor',
  'import',
  'history',
  'state',
  'explain',
];
const FLAGS = [
  '--config',
  '--format',
  '--target',
  '--detailed-exitcode',
  '--fail-on-risk',
  '--offline',
  '--refresh',
  '--out',
  '--auto-approve',
  '--parallelism',
  '--lock-timeout',
  '--limit',
  '--debug',
  '--no-color',
  '--pause-running',
  '--resync',
  '--env',
  '--all-envs',
];

describe('examples/', () => {
  it('task files validate and the simulator seed covers every task but the one the demo creates', async () => {
    const loaded = await loadTasks({ baseDir: EXAMPLES, patterns: ['tasks/**/*.{yaml,yml,json}'] });
    expect(loaded.tasks.length).toBeGreaterThanOrEqual(10);
    const seed = await loadSeedFile(path.join(EXAMPLES, 'sim-seed.yaml'));
    const seeded = new Map(seed.tasks.map((t) => [t.userTaskID, t.sceneID]));
    const created = 'appointment-confirm-clinic-2026-11';
    expect(loaded.tasks.map((t) => t.userTaskID)).toContain(created);
    for (const t of loaded.tasks)
      expect(seeded.get(t.userTaskID), t.userTaskID).toBe(t.userTaskID === created ? undefined : t.sceneID);
  });

  it('pass the example policy (no error-level violation), and one task file uses dialWindow', async () => {
    const settings = await loadSettings({ cwd: EXAMPLES, configFile: 'callform.config.yaml', env: {} });
    const policy = await loadPolicy({
      baseDir: settings.baseDir,
      settingsFile: settings.configFile,
      inline: settings.policy,
      patterns: settings.policyPatterns,
    });
    expect(policy?.sources).toEqual(['policies/base.yaml']);
    const loaded = await loadTasks({ baseDir: EXAMPLES, patterns: settings.taskPatterns });
    const result = evaluatePolicy(policy!, loaded.tasks);
    expect(blockingViolations(result)).toEqual([]);
    expect(result.exemptions.length).toBeGreaterThan(0);
    expect(loaded.warnings).toEqual([]);
    expect(readFileSync(path.join(EXAMPLES, 'tasks', 'collections', 'renewals.yaml'), 'utf8')).toMatch(
      /^\s+dialWindow:/m,
    );
  });

  it.each(readdirSync(path.join(EXAMPLES, 'ci')).filter((f) => /\.ya?ml$/.test(f)))(
    'CI example %s is valid YAML and uses only documented commands and flags',
    (file) => {
      const text = readFileSync(path.join(EXAMPLES, 'ci', file), 'utf8');
      for (const doc of parseAllDocuments(text)) expect(doc.errors).toEqual([]);
      const code = text.replace(/^\s*#.*$/gm, ''); // comments may abbreviate
      const uses = [...code.matchAll(/npx callform ((?:--config \S+ )?)([a-z-]+)([^\n"'`|>]*)/g)];
      expect(uses.length).toBeGreaterThan(0);
      for (const [, , command, rest] of uses) {
        expect(COMMANDS, `npx callform ${command}`).toContain(command);
        for (const flag of rest.match(/--[a-z-]+/g) ?? []) expect(FLAGS, `${command} ${flag}`).toContain(flag);
      }
    },
  );
});
