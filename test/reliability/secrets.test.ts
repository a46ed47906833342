/**
 * Secrets never leak: the secret key (right or wrong) never appears in any output or in
 * any file callform writes; --debug redacts request signatures; credentials inside a
 * taskCallbackUrl are masked in every plan rendering and in debug logs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import {
  createProject,
  describeResult,
  dropDistSnapshot,
  runCli,
  simEnv,
  spawnCli,
  useDistSnapshot,
  waitFor,
  type CliResult,
  type TempProject,
} from '../support/project.js';
import { dropSchema, freshSchema, pgStateSetting, server } from '../support/pg-state.js';

const SECRET = 'S3CR3T-canary-7f1e9b2c';
const WRONG_SECRET = 'S3CR3T-canary-WRONG-1234';
const URL_PASSWORD = 'pa55w0rd';
const CALLBACK = `https://user:${URL_PASSWORD}@hooks.example.com/x`;
const SCENE = 'scene-secrets';
const HEX_SIGN = /sign=[0-9A-F]{32}(?![0-9A-Za-z])|sign=[0-9A-F]{64}(?![0-9A-Za-z])/;
const BARE_HEX = /(?<![0-9A-Za-z])(?:[0-9A-F]{64}|[0-9A-F]{32})(?![0-9A-Za-z])/;

const tasks = Array.from({ length: 4 }, (_, i) => ({
  userTaskID: `sec-task-${i}`,
  sceneID: SCENE,
  taskCreateSetting: {
    taskName: `Secret test ${i}`,
    maxCall: 2 + i,
    ...(i === 0 ? { taskCallbackUrl: CALLBACK } : {}),
  },
}));

describe('secrets and credentials stay out of output and files', () => {
  let sim: Simulator;
  let p: TempProject;
  const outputs: Array<{ label: string; r: CliResult; debug: boolean; planRendering: boolean }> = [];

  beforeAll(async () => {
    await useDistSnapshot();
    sim = await startSimulator({
      secret: SECRET,
      seed: { tasks: tasks.map((t) => ({ userTaskID: t.userTaskID, sceneID: SCENE, taskStatus: 1 })) },
    });
    p = await createProject({ parallelism: 2, timeoutMs: 3000, retries: 1 }, 'callform-secrets-');
    await p.writeCollections({
      all: {
        defaults: { taskCreateSetting: { startupType: 1, zoneSecond: 28800 }, funcFlag: { taskKeep: true } },
        tasks,
      },
    });
  });
  afterAll(async () => {
    await (sim as Simulator | undefined)?.close(); // unset when the setup failed
    await (p as TempProject | undefined)?.cleanup();
    await dropDistSnapshot();
  });

  it(
    'runs every command (and the failure paths) without printing or storing a secret',
    { timeout: 90_000 },
    async () => {
      const env = simEnv(sim);
      expect(env.NXCLOUD_SECRET_KEY).toBe(SECRET);
      const run = async (
        label: string,
        args: string[],
        expected: number | number[],
        opts: { env?: Record<string, string | undefined>; planRendering?: boolean } = {},
      ) => {
        const r = await runCli(args, { cwd: p.dir, env: opts.env ?? env, timeoutMs: 30_000 });
        outputs.push({ label, r, debug: args.includes('--debug'), planRendering: Boolean(opts.planRendering) });
        expect([expected].flat(), `${label}\n${describeResult(args, r)}`).toContain(r.code);
        return r;
      };

      await run('validate', ['validate'], 0);
      await run('plan text', ['plan'], 0, { planRendering: true });
      await run('plan json', ['plan', '--format', 'json'], 0, { planRendering: true });
      await run('plan markdown', ['plan', '--format', 'markdown'], 0, { planRendering: true });
      await run('plan detailed', ['plan', '--detailed-exitcode'], 2, { planRendering: true });
      await run('plan offline', ['plan', '--offline'], 0, { planRendering: true });
      await run('plan --debug', ['--debug', 'plan'], 0, { planRendering: true });
      await run('plan --out', ['plan', '--out', 'p.cfplan'], 0, { planRendering: true });
      await run('plan --out json', ['plan', '--out', 'p2.cfplan', '--format', 'json'], 0, { planRendering: true });
      await run('show', ['show', 'p.cfplan'], 0, { planRendering: true });
      await run('show json', ['show', 'p.cfplan', '--format', 'json'], 0, { planRendering: true });
      await run('show markdown', ['show', 'p.cfplan', '--format', 'markdown'], 0, { planRendering: true });
      await run('apply saved plan --debug', ['--debug', 'apply', 'p.cfplan'], 0, { planRendering: true });
      expect(sim.tasks.get('sec-task-0')!.taskCreateSetting.taskCallbackUrl).toBe(CALLBACK); // the real URL was sent

      // Change the files, then apply directly (with and without --debug).
      tasks[1].taskCreateSetting.maxCall = 40;
      tasks[0].taskCreateSetting.taskName = 'Secret test 0 renamed';
      await p.writeCollections({
        all: {
          defaults: { taskCreateSetting: { startupType: 1, zoneSecond: 28800 }, funcFlag: { taskKeep: true } },
          tasks,
        },
      });
      await run('plan --debug markdown', ['--debug', 'plan', '--format', 'markdown'], 0, { planRendering: true });
      await run('apply --debug', ['--debug', 'apply', '--auto-approve'], 0, { planRendering: true });
      tasks[2].taskCreateSetting.maxCall = 41;
      await p.writeCollections({
        all: {
          defaults: { taskCreateSetting: { startupType: 1, zoneSecond: 28800 }, funcFlag: { taskKeep: true } },
          tasks,
        },
      });
      await run('apply', ['apply', '--auto-approve'], 0, { planRendering: true });
      await run('plan clean', ['plan', '--detailed-exitcode'], 0, { planRendering: true });

      // The wrong secret: refused with a clear authentication message.
      const wrongEnv = simEnv(sim, { NXCLOUD_SECRET_KEY: WRONG_SECRET });
      for (const [label, args] of [
        ['wrong secret plan', ['plan']],
        ['wrong secret plan --debug', ['--debug', 'plan']],
        ['wrong secret apply --debug', ['--debug', 'apply', '--auto-approve']],
      ] as const) {
        const r = await run(label, [...args], 1, { env: wrongEnv });
        expect(r.stderr, label).toMatch(/request refused: retCode 6\b/);
        expect(r.stderr, label).toMatch(/NXCLOUD_SECRET_KEY/);
        expect(r.stderr, label).toMatch(/signature/i);
      }

      // Bad response signatures on updateTask (the plan's reads verify).
      tasks[3].taskCreateSetting.maxCall = 42;
      await p.writeCollections({
        all: {
          defaults: { taskCreateSetting: { startupType: 1, zoneSecond: 28800 }, funcFlag: { taskKeep: true } },
          tasks,
        },
      });
      sim.onRequest = (endpoint) =>
        sim.setFaults({ faultRate: endpoint === 'updateTask' ? 1 : 0, faultKinds: ['badsign'] });
      const bad = await run('badsign apply --debug', ['--debug', 'apply', '--auto-approve'], 1, {
        planRendering: true,
      });
      expect(bad.stdout).toMatch(/sec-task-3 failed: updateTask: response signature does not verify/);
      const badPlain = await run('badsign apply', ['apply', '--auto-approve'], 1, { planRendering: true });
      expect(badPlain.stdout).toMatch(/signature/);
      sim.onRequest = undefined;
      sim.setFaults({ faultRate: 0 });

      // The lock file (the holder record): read it while an apply holds the lock, then leave one behind with SIGKILL.
      sim.setFaults({ latencyMs: 300 });
      tasks[3].taskCreateSetting.maxCall = 43;
      await p.writeCollections({
        all: {
          defaults: { taskCreateSetting: { startupType: 1, zoneSecond: 28800 }, funcFlag: { taskKeep: true } },
          tasks,
        },
      });
      const held = spawnCli(['--debug', 'apply', '--auto-approve'], { cwd: p.dir, env });
      const lockInfo = await waitFor(async () => (existsSync(p.lockPath) ? readFile(p.lockPath, 'utf8') : ''), {
        timeoutMs: 15_000,
        what: 'the lock file',
      });
      held.child.kill('SIGKILL');
      const killed = await held.done;
      outputs.push({ label: 'killed apply --debug', r: killed, debug: true, planRendering: true });
      sim.setFaults({ latencyMs: 0 });

      // ---- Collect everything and look for the canaries.
      const files = await p.allFiles();
      expect([...files.keys()]).toEqual(
        expect.arrayContaining(['callform.state.json', 'p.cfplan', 'p2.cfplan', 'callform.state.json.lock']),
      );
      const haystacks: Array<[string, string]> = [['lock file during the run', lockInfo]];
      for (const o of outputs) haystacks.push([`${o.label} stdout`, o.r.stdout], [`${o.label} stderr`, o.r.stderr]);
      for (const [name, content] of files) haystacks.push([`file ${name}`, content]);
      for (const [name, text] of haystacks) {
        expect(text.includes(SECRET), `${name} contains the secret`).toBe(false);
        expect(text.includes(WRONG_SECRET), `${name} contains the wrong secret`).toBe(false);
        // Not even a fragment long enough to matter.
        expect(/7f1e9b2c|WRONG-1234/.test(text), `${name} contains a fragment of a secret`).toBe(false);
      }

      // --debug: requests are logged, signatures redacted, no bare signature-like hex anywhere.
      const debugOut = outputs.filter((o) => o.debug).map((o) => o.r.stderr + o.r.stdout);
      expect(debugOut.length).toBeGreaterThanOrEqual(6);
      const allDebug = debugOut.join('\n');
      expect(allDebug).toMatch(/\[debug\] → POST .*sign=<redacted>/);
      expect(allDebug).toMatch(/\[debug\] → POST \S+\/updateTask /); // update bodies were logged...
      expect(allDebug).toContain('hooks.example.com'); // ...including the callback URL, masked
      expect(allDebug).not.toMatch(HEX_SIGN);
      expect(allDebug).not.toMatch(BARE_HEX);
      for (const line of allDebug.split('\n').filter((l) => l.includes('sign=')))
        expect(line, line).toMatch(/sign=<redacted>/);

      // The callback URL password: never in plan renderings (text, markdown, json) nor debug logs.
      for (const o of outputs.filter((x) => x.planRendering || x.debug)) {
        expect(o.r.stdout.includes(URL_PASSWORD), `${o.label} stdout shows the URL password`).toBe(false);
        expect(o.r.stderr.includes(URL_PASSWORD), `${o.label} stderr shows the URL password`).toBe(false);
      }
      const planJson = outputs.find((o) => o.label === 'plan json')!.r.stdout;
      expect(planJson).toContain('hooks.example.com/x');
      expect(planJson).toMatch(/\*\*\*:\*\*\*@hooks\.example\.com/);
      const planText = outputs.find((o) => o.label === 'plan text')!.r.stdout;
      expect(planText).toMatch(/\*\*\*:\*\*\*@hooks\.example\.com/);
      const planMd = outputs.find((o) => o.label === 'plan markdown')!.r.stdout;
      expect(planMd).toContain('hooks.example.com');
    },
  );

  it(
    'a PostgreSQL password never appears in output, --debug, plans, history or errors',
    { timeout: 120_000 },
    async () => {
      const schema = freshSchema('secrets');
      const pgp = await createProject({ parallelism: 2, state: pgStateSetting(schema) }, 'callform-secrets-pg-');
      await pgp.writeCollections({ all: { defaults: { taskCreateSetting: { startupType: 1 } }, tasks } });
      const { url, password, port } = server();
      const good = { ...simEnv(sim), CALLFORM_DATABASE_URL: url };
      const wrong = {
        ...good,
        CALLFORM_DATABASE_URL: url.replace(encodeURIComponent(password), `${encodeURIComponent(password)}x`),
      };
      // Nothing listens on port 1: the connection is refused, and the error names the URL's host.
      const unreachable = { ...good, CALLFORM_DATABASE_URL: url.replace(`:${port}/`, ':1/') };
      const runs: Array<[string, CliResult]> = [];
      try {
        for (const [label, args, env] of [
          ['apply --debug', ['--debug', 'apply', '--auto-approve'], good],
          ['plan json', ['plan', '--format', 'json', '--out', 'pg.cfplan'], good],
          ['history', ['history', '--format', 'json'], good],
          ['doctor', ['doctor'], good],
          ['wrong password', ['--debug', 'plan'], wrong],
          ['unreachable', ['doctor', '--format', 'json'], unreachable],
        ] as const) {
          runs.push([label, await runCli([...args], { cwd: pgp.dir, env })]);
        }
        expect(runs[0][1].code, describeResult(['apply'], runs[0][1])).toBe(0);
        expect(runs[4][1].code).toBe(1);
        expect(runs[4][1].stderr).toMatch(/password authentication failed/);
        const haystacks: Array<[string, string]> = runs.flatMap(([label, r]) => [
          [`${label} stdout`, r.stdout],
          [`${label} stderr`, r.stderr],
        ]);
        for (const [name, content] of await pgp.allFiles()) haystacks.push([`file ${name}`, content]);
        for (const [name, text] of haystacks) {
          for (const form of [password, encodeURIComponent(password), 'CANARY'])
            expect(text.includes(form), `${name} contains the database password`).toBe(false);
        }
      } finally {
        await dropSchema(schema);
      }
    },
  );
});
