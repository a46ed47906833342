/**
 * `callform doctor`: "is my setup right?" as a checklist. Every check says what it found
 * and, when something is wrong, how to fix it. Nothing is written, no lock is taken, and
 * the credentials are only reported as present or not.
 */
import { connect } from 'node:net';
import path from 'node:path';
import { ApiError } from '../api/errors.js';
import type { HttpPost } from '../api/client.js';
import { credentialsFromEnv, type CredentialNames } from '../config/settings.js';
import type { LoadedState } from '../state/state.js';
import { CallformError, errorMessage } from '../errors.js';
import { createClient, loadProjectState, loadProjectTasks, openProject, type Project } from './project.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  id:
    | 'settings'
    | 'tasks'
    | 'backend'
    | 'state'
    | 'lock'
    | 'resumes'
    | 'credentials'
    | 'endpoint'
    | 'request-signature'
    | 'response-signature'
    | 'clock'
    | 'node';
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  checks: Check[];
}

export interface DoctorOptions {
  cwd: string;
  configFile?: string;
  env: NodeJS.ProcessEnv;
  transport?: HttpPost;
  now?: () => number;
  /** Opens a TCP connection (injected in tests); resolves when connected. */
  reach?: (host: string, port: number, timeoutMs: number) => Promise<void>;
  /** A declared environment's project (workflow/environments.ts); absent: the settings' own project. */
  project?: Project;
}

/** Warn above this clock difference: requests carry createTs, which the platform checks against its own clock. */
export const CLOCK_SKEW_WARN_S = 30;
const MIN_NODE_MAJOR = 20;

type Found = Omit<Check, 'id' | 'title'>;
const ok = (detail: string): Found => ({ status: 'ok', detail });
const warn = (detail: string, fix: string): Found => ({ status: 'warn', detail, fix });
const fail = (detail: string, fix: string): Found => ({ status: 'fail', detail, fix });
const skip = (detail: string): Found => ({ status: 'skip', detail });

function tcpReach(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => done());
    socket.once('error', (err) => done(err));
  });
}

async function settingsCheck(options: DoctorOptions): Promise<{ found: Found; project?: Project }> {
  try {
    const project = options.project ?? (await openProject(options));
    const file = project.settings.configFile;
    return {
      project,
      found: ok(
        file
          ? `${path.relative(options.cwd, file) || file} (valid)`
          : 'no settings file found: every setting has its default',
      ),
    };
  } catch (err) {
    // The error's own hint names the real fix (an environment variable, a syntax error, …).
    const hint =
      err instanceof CallformError && err.hint
        ? err.hint
        : 'fix the settings file (see docs/configuration.md), or pass --config FILE';
    return { found: fail(errorMessage(err), hint) };
  }
}

async function tasksCheck(project: Project): Promise<Found> {
  try {
    const loaded = await loadProjectTasks(project);
    return ok(
      `${loaded.tasks.length} task${loaded.tasks.length === 1 ? '' : 's'} in ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'} (valid)`,
    );
  } catch (err) {
    const lines = errorMessage(err).split('\n');
    return fail(
      lines.slice(0, 6).join('\n') +
        (lines.length > 6 ? `\n  … (${lines.length - 6} more lines: run callform validate)` : ''),
      'fix the task files (callform validate lists every problem)',
    );
  }
}

async function stateCheck(project: Project): Promise<{ found: Found; state?: LoadedState }> {
  try {
    const state = await loadProjectState(project);
    if (!state.exists) {
      // No state yet is fine, but apply must be able to create it (and its lock) there.
      const problem = await project.state.writeProblem();
      if (problem)
        return {
          state,
          found: fail(
            `${project.state.display}: none yet, and apply cannot create it: ${problem.problem}`,
            problem.hint,
          ),
        };
      return { state, found: ok(`${project.state.display}: none yet (nothing applied)`) };
    }
    const n = Object.keys(state.state.tasks).length;
    return {
      state,
      found: ok(
        `${project.state.display}: readable, serial ${state.state.serial}, lineage ${state.state.lineage}, ${n} task${n === 1 ? '' : 's'}`,
      ),
    };
  } catch (err) {
    return {
      found: fail(
        errorMessage(err),
        'restore the state file from a backup or version control; callform never overwrites a state it cannot read',
      ),
    };
  }
}

/** Postgres: reachable, schema version, write permission (the lock holder is the lock check's). */
async function backendCheck(project: Project): Promise<Found> {
  try {
    const where = await project.state.describeStore();
    const problem = await project.state.writeProblem();
    if (problem) return fail(`${where}; ${problem.problem}`, problem.hint);
    return ok(`${where}; writable`);
  } catch (err) {
    return fail(
      errorMessage(err),
      err instanceof CallformError && err.hint ? err.hint : 'check the connection string and the database',
    );
  }
}

async function lockCheck(project: Project, now: number): Promise<Found> {
  try {
    const status = await project.state.lockStatus(now);
    if (!status.locked) return ok('not locked');
    if (status.breakable)
      return warn(
        `locked by ${project.state.describeHolder(status.holder)}, but ${status.breakable}: the next apply breaks it`,
        'nothing to do',
      );
    if (project.state.kind === 'postgres')
      return warn(
        `locked by ${project.state.describeHolder(status.holder)}`,
        'wait for that run; its lock ends with its database session (no force-unlock needed)',
      );
    return warn(
      `locked by ${project.state.describeHolder(status.holder)}`,
      status.holder
        ? `wait for that run; if it is gone, callform force-unlock ${status.holder.id}`
        : 'wait 10 s (a lock without holder record expires), or remove the lock file if no callform run is active',
    );
  } catch (err) {
    return fail(`cannot read the lock: ${errorMessage(err)}`, 'check the permissions of the state file directory');
  }
}

function resumesCheck(state: LoadedState): Found {
  const owed = Object.keys(state.state.owedResumes ?? {}).sort();
  if (owed.length === 0) return ok('none owed');
  return warn(
    `${owed.length} task${owed.length === 1 ? '' : 's'} paused by callform and not resumed: ${owed.join(', ')}`,
    'run callform apply: it resumes them first',
  );
}

function credentialsCheck(env: NodeJS.ProcessEnv, names?: CredentialNames): Found {
  try {
    credentialsFromEnv(env, names);
    return ok(
      `${names?.uuid ?? 'NXCLOUD_UUID'} and ${names?.secretKey ?? 'NXCLOUD_SECRET_KEY'} are set (values not shown)`,
    );
  } catch (err) {
    return fail(
      errorMessage(err).replace(/^missing credentials?: /, ''),
      err instanceof CallformError && err.hint && !/^missing/.test(err.message)
        ? err.hint
        : `export ${names?.uuid ?? 'NXCLOUD_UUID'} and ${names?.secretKey ?? 'NXCLOUD_SECRET_KEY'} (NXCloud console → Developer)`,
    );
  }
}

async function endpointCheck(project: Project, reach: NonNullable<DoctorOptions['reach']>): Promise<Found> {
  const url = new URL(project.settings.endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  try {
    await reach(url.hostname, port, Math.min(project.settings.timeoutMs, 10_000));
    return ok(`${url.host} accepts connections (${url.protocol.replace(':', '')})`);
  } catch (err) {
    return fail(
      `cannot connect to ${url.hostname}:${port}: ${errorMessage(err)}`,
      'check "endpoint" / NXCLOUD_ENDPOINT, DNS, proxies and firewalls',
    );
  }
}

/** A signed ping: is the request signature accepted, does the answer verify, how far apart are the clocks. */
async function pingChecks(
  project: Project,
  options: DoctorOptions,
  now: () => number,
): Promise<Record<'request-signature' | 'response-signature' | 'clock', Found>> {
  const algorithm = project.settings.algorithm;
  const client = await createClient(
    {
      ...project,
      settings: { ...project.settings, retries: 0, timeoutMs: Math.min(project.settings.timeoutMs, 10_000) },
    },
    { transport: options.transport },
  );
  const sentAt = now();
  try {
    const res = await client.ping('callform-doctor');
    const skew = Math.round(sentAt / 1000 - res.timestamp);
    const clock =
      Math.abs(skew) <= CLOCK_SKEW_WARN_S
        ? ok(`local clock within ${Math.abs(skew)} s of the server's`)
        : warn(
            `local clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the server's`,
            `sync the clock (NTP): every request carries createTs (Unix seconds) and a platform that bounds its age refuses requests from a clock this far off (callform's simulator allows ±300 s)`,
          );
    return {
      'request-signature': ok(`a signed ping (${algorithm}) was accepted`),
      'response-signature': ok(`the answer's signature verifies (${algorithm})`),
      clock,
    };
  } catch (err) {
    const e = err instanceof ApiError ? err : undefined;
    const why = errorMessage(err);
    if (e?.kind === 'auth') {
      return {
        'request-signature': fail(
          why,
          'check NXCLOUD_UUID, NXCLOUD_SECRET_KEY and the algorithm setting (NXCloud console → Developer) and the machine clock',
        ),
        'response-signature': skip('no signed answer to check'),
        clock: skip('no answer'),
      };
    }
    if (e?.kind === 'signature') {
      return {
        'request-signature': ok('the request was answered'),
        'response-signature': fail(why, `check NXCLOUD_SECRET_KEY and that the console's algorithm is ${algorithm}`),
        clock: skip('the answer could not be trusted'),
      };
    }
    return {
      'request-signature': fail(
        `the ping failed: ${why}`,
        'check the endpoint and the network; run with --debug for the exchange',
      ),
      'response-signature': skip('no answer'),
      clock: skip('no answer'),
    };
  }
}

function nodeCheck(): Found {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? ok(`Node.js ${process.versions.node}`)
    : fail(`Node.js ${process.versions.node} is too old`, `install Node.js ${MIN_NODE_MAJOR} or newer`);
}

const TITLES: Record<Check['id'], string> = {
  settings: 'settings file',
  tasks: 'task files',
  backend: 'state backend',
  state: 'state',
  lock: 'state lock',
  resumes: 'owed resumes',
  credentials: 'credentials',
  endpoint: 'endpoint',
  'request-signature': 'request signature',
  'response-signature': 'response signature',
  clock: 'clock skew',
  node: 'Node.js',
};

/** Runs every check in order; a check that needs an earlier one's result is skipped when that failed. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const checks: Check[] = [];
  const add = (id: Check['id'], found: Found) => checks.push({ id, title: TITLES[id], ...found });
  const settings = await settingsCheck(options);
  add('settings', settings.found);
  const project = settings.project;
  const needsSettings = skip('needs a valid settings file');
  add('tasks', project ? await tasksCheck(project) : needsSettings);
  // The file backend's checks are the state and lock ones; a database is checked first.
  if (project?.state.kind === 'postgres') add('backend', await backendCheck(project));
  const state = project ? await stateCheck(project) : { found: needsSettings };
  add('state', state.found);
  add('lock', project ? await lockCheck(project, now()) : needsSettings);
  add('resumes', state.state ? resumesCheck(state.state) : skip('needs a readable state'));
  const credentials = credentialsCheck(options.env, options.project?.environment?.credentials);
  add('credentials', credentials);
  const endpoint = project ? await endpointCheck(project, options.reach ?? tcpReach) : needsSettings;
  add('endpoint', endpoint);
  if (project && credentials.status === 'ok' && endpoint.status === 'ok') {
    const ping = await pingChecks(project, options, now);
    for (const id of ['request-signature', 'response-signature', 'clock'] as const) add(id, ping[id]);
  } else {
    for (const id of ['request-signature', 'response-signature', 'clock'] as const)
      add(id, skip(project ? 'needs credentials and a reachable endpoint' : 'needs a valid settings file'));
  }
  add('node', nodeCheck());
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
