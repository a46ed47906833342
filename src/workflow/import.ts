/**
 * `callform import`: bring an existing account under management. Pages through listTask
 * (page/size, stopping on a short or empty page) and writes one task entry per task that
 * no task file declares yet: its userTaskID and sceneID, with taskID, status and creation
 * time as comments. listTask returns no settings, so none are written (a comment says so):
 * the imported tasks plan as unchanged until settings are added to the file.
 */
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { ListTaskRequest, ListTaskResponse, ListedTask } from '../api/wire.js';
import { PRODUCT_ID, byUserTaskID } from '../model/task.js';
import { describeStatus } from '../model/status.js';
import { printable } from '../model/printable.js';
import { ValidationError } from '../diagnostics/issue.js';
import { CallformError } from '../errors.js';
import { createClient, loadProjectTasks, type Project } from './project.js';

/** Where imported entries go: a new task file, or nowhere (a dry run, which may still name the file it would write). */
export type ImportDestination = { kind: 'file'; out: string } | { kind: 'dry-run'; out: string | undefined };

export interface ImportOptions {
  destination: ImportDestination;
  /** Only tasks in these statuses (listTask taskStatus filter). */
  statuses?: number[];
  /** Only tasks of this script template (listTask sceneID filter). */
  sceneID?: string;
  /** Only tasks whose name contains this text (case-insensitive, checked here: listTask's name filter is exact). */
  nameContains?: string;
  pageSize?: number;
}

export interface ImportResult {
  found: number;
  /** Already declared in a task file. */
  skipped: number;
  /** Written to `out` (or, with dryRun, that would be). */
  imported: ListedTask[];
  listTaskCalls: number;
  /** The file written, or null (dry run, or nothing to import). */
  written: string | null;
  /** The output file (written or not) is not matched by the settings' task globs, so plan would not read it. */
  outsideTaskGlobs: boolean;
}

interface Pager {
  call<T extends object>(endpoint: string, body: object): Promise<T>;
}

/** Every task matching the filters, page by page; stops on a short or empty page. */
async function listAll(
  client: Pager,
  conditions: ListTaskRequest['queryConditions'],
  size: number,
): Promise<{ tasks: ListedTask[]; calls: number }> {
  const tasks: ListedTask[] = [];
  for (let page = 1; ; page++) {
    const res = await client.call<ListTaskResponse>('listTask', {
      productID: PRODUCT_ID,
      page,
      size,
      queryConditions: conditions,
    } satisfies ListTaskRequest);
    const data = res.taskData ?? [];
    tasks.push(...data);
    if (data.length < size) return { tasks, calls: page };
  }
}

/** userTaskIDs declared in the task files; none when there are no task files yet. */
async function declaredIds(project: Project): Promise<Set<string>> {
  try {
    return new Set((await loadProjectTasks(project)).tasks.map((t) => t.userTaskID));
  } catch (err) {
    if (
      err instanceof ValidationError &&
      err.issues.length === 1 &&
      err.issues[0].message.startsWith('no task files match')
    )
      return new Set();
    throw err;
  }
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** The YAML text: a collection with one entry per task, its platform facts as comments. */
export function importedYaml(tasks: readonly ListedTask[], now: Date): string {
  const lines = [
    `# Imported by callform import on ${now.toISOString()}.`,
    '# listTask does not return task settings, so none are written here: add the',
    '# taskCreateSetting / funcFlag values you want callform to manage. Until then these',
    '# tasks plan as unchanged, and callform never sends a field the file does not declare.',
    'tasks:',
  ];
  for (const t of tasks) {
    const created =
      Number.isFinite(t.createTs) && t.createTs > 0 ? new Date(t.createTs * 1000).toISOString() : String(t.createTs);
    // A comment line: whatever the server sent must stay on it (no line breaks, no controls).
    lines.push(
      printable(
        `  # taskID ${t.taskID}, status ${describeStatus(t.taskStatus)}, created ${created}${t.taskName ? `, name ${JSON.stringify(t.taskName)}` : ''}`,
      ),
    );
    lines.push(`  - userTaskID: ${JSON.stringify(t.userTaskID)}`, `    sceneID: ${JSON.stringify(t.sceneID)}`);
  }
  return lines.join('\n') + '\n';
}

export async function runImport(project: Project, options: ImportOptions, now = new Date()): Promise<ImportResult> {
  const { destination } = options;
  const out = destination.out === undefined ? undefined : await checkedOutPath(project, destination.out);
  const declared = await declaredIds(project);
  const client = await createClient(project);
  const conditions: ListTaskRequest['queryConditions'] = {};
  if (options.statuses?.length) conditions.taskStatus = options.statuses;
  if (options.sceneID) conditions.sceneID = options.sceneID;
  const { tasks, calls } = await listAll(client, conditions, options.pageSize ?? 100);
  const needle = options.nameContains?.toLowerCase();
  const found = needle === undefined ? tasks : tasks.filter((t) => (t.taskName ?? '').toLowerCase().includes(needle));
  const imported = found.filter((t) => !declared.has(t.userTaskID)).sort(byUserTaskID);
  let written: string | null = null;
  if (destination.kind === 'file' && out !== undefined && imported.length > 0) {
    await writeFile(out, importedYaml(imported, now), { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw new CallformError(
        `cannot write ${destination.out}: ${err.code === 'EEXIST' ? 'it appeared meanwhile; import never overwrites a file' : err.code === 'ENOENT' ? 'its directory does not exist' : err.message}`,
        'check the --out path',
      );
    });
    written = destination.out;
  }
  return {
    found: found.length,
    skipped: found.length - imported.length,
    imported,
    listTaskCalls: calls,
    written,
    outsideTaskGlobs: out !== undefined && !matchesTaskGlobs(project, out),
  };
}

/** The absolute --out path, refused before any API call when import could not write it. */
async function checkedOutPath(project: Project, given: string): Promise<string> {
  const out = path.resolve(project.cwd, given);
  if (await exists(out))
    throw new CallformError(`${given} already exists; import never overwrites a file`, 'choose a new --out path');
  if (/\.json$/i.test(out))
    throw new CallformError(
      `--out ${given}: import writes YAML (with comments), which a .json task file cannot hold`,
      'choose a .yaml or .yml file name',
    );
  return out;
}

/** The same matcher tinyglobby (the task-file loader) uses. */
function matchesTaskGlobs(project: Project, file: string): boolean {
  const relative = path.relative(project.settings.baseDir, file).split(path.sep).join('/');
  return picomatch(project.settings.taskPatterns)(relative);
}
