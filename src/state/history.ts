/**
 * The apply history: one record per apply (a run) with each task's outcome and the fields
 * it sent, before → after. Every backend keeps it (Postgres in tables, the file backend in
 * `<state>.history.jsonl`); it is written after the run's state is saved, and a failed
 * history write is reported, never undoes the apply.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { CallformPlan, TaskPlan } from '../model/plan.js';
import { isChange, isCreate } from '../model/plan.js';
import { maskValue } from '../model/redact.js';
import type { ApplyResult } from '../apply/apply.js';

type RunOutcome = 'complete' | 'partial' | 'interrupted' | 'failed';

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

interface HistoryTask {
  userTaskID: string;
  /** The plan's action, or resume for a resume owed from an earlier run. */
  action: TaskPlan['action'] | 'resume';
  outcome: string;
  retCode: number | null;
  message: string | null;
  changes: FieldChange[];
  /** pause → update → resume: how long the task was paused (ms). */
  pausedMs: number | null;
}

export interface HistoryRun {
  id: string;
  /** The state name (Postgres) or the state file (as shown). */
  state: string;
  environment: string | null;
  startedAt: string;
  finishedAt: string;
  actor: string | null;
  commit: string | null;
  ciRunUrl: string | null;
  /** SHA-256 of the applied plan's tasks. */
  planDigest: string;
  counts: ApplyResult['counts'];
  outcome: RunOutcome;
  /** Why a failed run failed (a lost database, an unwritable state). */
  error: string | null;
  tasks: HistoryTask[];
}

export interface HistoryQuery {
  /** Only the run with this id. */
  id?: string;
  /** Only runs that changed (or tried) this task. */
  task?: string;
  since?: Date;
  limit: number;
}

/** Who ran it: the CI's user, else the OS user (from the environment, else the account itself). */
export function actorFrom(env: NodeJS.ProcessEnv): string | null {
  return env.GITHUB_ACTOR || env.GITLAB_USER_LOGIN || env.USER || env.USERNAME || osUser();
}

function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null; // no passwd entry for this uid (some containers)
  }
}

/** The CI run's URL, when a known CI sets enough variables to build it. */
export function ciRunUrl(env: NodeJS.ProcessEnv): string | null {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID)
    return `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
  return env.CI_PIPELINE_URL || env.CI_JOB_URL || env.BUILD_URL || null;
}

/** The commit checked out in cwd (null outside a git checkout, or without git). */
export function gitCommit(cwd: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5000 }, (err, stdout) =>
      resolve(err ? null : stdout.trim() || null),
    );
  });
}

function planDigest(plan: CallformPlan): string {
  return createHash('sha256').update(JSON.stringify(plan.tasks)).digest('hex');
}

function runOutcome(result: ApplyResult, error: string | null): RunOutcome {
  if (error) return 'failed';
  if (result.interrupted) return 'interrupted';
  return result.counts.failed > 0 || result.counts.blocked > 0 ? 'partial' : 'complete';
}

export interface RunContext {
  state: string;
  environment: string | null;
  startedAt: Date;
  env: NodeJS.ProcessEnv;
  commit: string | null;
}

/** The history record of an executed plan (values masked as in every rendering). */
export function historyRun(
  plan: CallformPlan,
  result: ApplyResult,
  ctx: RunContext,
  error: string | null = null,
  finishedAt = new Date(),
): HistoryRun {
  const planned = new Map(plan.tasks.map((t) => [t.userTaskID, t]));
  const tasks = result.results
    .filter((r) => r.outcome !== 'unchanged')
    .map((r): HistoryTask => {
      const t = planned.get(r.userTaskID);
      return {
        userTaskID: r.userTaskID,
        action: t?.action ?? 'resume',
        outcome: r.outcome,
        retCode: r.retCode ?? null,
        message: r.message ?? null,
        changes:
          t && (isChange(t) || isCreate(t))
            ? t.changes.map((c) => ({ field: c.path, before: c.before ?? null, after: c.after ?? null }))
            : [],
        pausedMs: r.pausedMs ?? null,
      };
    });
  return maskValue({
    id: randomUUID(),
    state: ctx.state,
    environment: ctx.environment,
    startedAt: ctx.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    actor: actorFrom(ctx.env),
    commit: ctx.commit,
    ciRunUrl: ciRunUrl(ctx.env),
    planDigest: planDigest(plan),
    counts: result.counts,
    outcome: runOutcome(result, error),
    error,
    tasks,
  });
}

/** Keeps the runs a query asks for (newest first), each with only the asked task when `task` is set. */
export function selectRuns(runs: HistoryRun[], query: HistoryQuery): HistoryRun[] {
  const since = query.since?.getTime();
  return runs
    .filter((r) => query.id === undefined || r.id === query.id)
    .filter((r) => since === undefined || Date.parse(r.startedAt) >= since)
    .filter((r) => !query.task || r.tasks.some((t) => t.userTaskID === query.task))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .slice(0, query.limit)
    .map((r) => (query.task ? { ...r, tasks: r.tasks.filter((t) => t.userTaskID === query.task) } : r));
}

/** `<state>.history.jsonl`: appends one line and fsyncs it. */
export async function appendHistoryLine(file: string, run: HistoryRun): Promise<void> {
  const fh = await open(file, 'a', 0o644);
  try {
    await fh.appendFile(JSON.stringify(run) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Every run in a history file; a line cut short by a crash (the last one) is skipped. */
export async function readHistoryLines(file: string): Promise<HistoryRun[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const runs: HistoryRun[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      runs.push(JSON.parse(line) as HistoryRun);
    } catch {
      // a torn last line (killed mid-append): the run before it is intact
    }
  }
  return runs;
}
