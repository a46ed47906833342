// Synthetic callform projects for the benchmark: hand-written-looking YAML collections
// (a `defaults:` block + 50 tasks per file), a settings file, and a matching state file
// in which a chosen fraction of the tasks differs from the files.
import { mkdir, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const isPlain = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Same semantics as callform's defaults merge: objects merge, arrays and scalars replace. */
function merge(under, over) {
  if (!isPlain(under) || !isPlain(over)) return over === undefined ? under : over;
  const out = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = k in under ? merge(under[k], v) : v;
  return out;
}
const clone = (v) => structuredClone(v);
const q = (s) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar

export const taskId = (i) => `bench-task-${String(i).padStart(6, '0')}`;
export const remoteTaskId = (i) => `T${String(i + 1).padStart(7, '0')}`;

/** YAML for a plain value at the given indent (block style, like a person would write). */
function yamlBlock(value, indent) {
  const pad = ' '.repeat(indent);
  const lines = [];
  for (const [k, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      lines.push(`${pad}${k}:`);
      for (const item of v) {
        if (isPlain(item)) {
          const inner = yamlBlock(item, indent + 4).split('\n');
          inner[0] = `${pad}  - ${inner[0].trimStart()}`;
          lines.push(...inner);
        } else lines.push(`${pad}  - ${typeof item === 'string' ? q(item) : item}`);
      }
    } else if (isPlain(v)) {
      lines.push(`${pad}${k}:`);
      lines.push(yamlBlock(v, indent + 2));
    } else {
      lines.push(`${pad}${k}: ${typeof v === 'string' ? q(v) : v}`);
    }
  }
  return lines.join('\n');
}

function fileDefaults(f, smsEverywhere = false) {
  const kind = f % 5 === 4 ? 'sms' : f % 4 === 3 ? 'aicc' : 'plain';
  const tcs = {
    strategyName: `strategy-${['3-rounds', 'daytime', 'evening', 'weekend'][f % 4]}`,
    startupType: 1,
    zoneSecond: [28800, 25200, 19800, 0][f % 4],
    dialAtWeekDay: f % 3 === 0 ? '1,2,3,4,5,6' : '1,2,3,4,5',
    dialAtUpHour: '9,10,11,14,15,16,17',
    dialAtDownHour: '9,10,11,14,15,16',
    maxCall: 10 + (f % 7) * 5,
    maxRingTime: 30,
    routeID: `route-${String(f % 9).padStart(2, '0')}`,
    taskCallbackUrl: `https://hooks.example.com/callbot/campaign-${f}/task-status`,
  };
  if (kind === 'aicc') tcs.manualCallSetting = { agentGroup: `agents-${f % 6}`, dispatchType: 1, ratioCallRate: 1.5 };
  const ff = { wholeTTS: true, taskKeep: true, roundRedial: false };
  if (kind === 'sms' || smsEverywhere) {
    ff.smsEnable = true;
    ff.phoneEncrypt = true;
    ff.smsFuncFlag = [
      { smsID: `sms-${f}-interested`, intentID: ['intent-interested', 'intent-callback'] },
      { smsID: `sms-${f}-declined`, intentName: ['Declined', 'Not now'] },
    ];
  }
  return { kind, defaults: { taskCreateSetting: tcs, funcFlag: ff } };
}

function taskOwn(i, f, kind) {
  const t = {
    userTaskID: taskId(i),
    sceneID: `scene-${kind}-v${1 + (f % 3)}`,
    taskCreateSetting: { taskName: `Campaign ${f} - task ${i}` },
  };
  if (i % 3 === 0) t.taskCreateSetting.maxCall = 5 + (i % 40);
  if (i % 7 === 0) t.taskCreateSetting.routeID = `route-special-${i % 13}`;
  if (i % 11 === 0) t.taskCreateSetting.dialAtUpHour = '10,11,15,16';
  if (kind === 'aicc' && i % 4 === 0) t.taskCreateSetting.manualCallSetting = { dispatchType: 3, predictCallRate: 2 };
  if (i % 5 === 0) t.funcFlag = { roundRedial: true };
  return t;
}

/** How the recorded (state / remote) settings of a changed task differ from the files. */
function perturb(desired, i) {
  const tcs = clone(desired.taskCreateSetting);
  const ff = clone(desired.funcFlag);
  switch (i % 4) {
    case 0:
      tcs.maxCall = (tcs.maxCall ?? 10) + 3;
      break;
    case 1:
      tcs.taskName = `${tcs.taskName} (old name)`;
      tcs.dialAtWeekDay = '1,2,3';
      break;
    case 2:
      if (ff.smsFuncFlag) ff.smsFuncFlag = [{ smsID: 'sms-legacy', intentID: ['intent-interested'] }];
      else ff.roundRedial = !ff.roundRedial;
      break;
    default:
      if (tcs.manualCallSetting) tcs.manualCallSetting = { ...tcs.manualCallSetting, agentGroup: 'agents-legacy' };
      else tcs.maxRingTime = 45;
  }
  return { taskCreateSetting: tcs, funcFlag: ff };
}

/**
 * A 10-rule policy of built-in kinds that the generated tasks pass, apart from a few
 * dozen warn-level findings and exemptions (as a real project's policy would): every task
 * is checked against every rule. With `jsonSchema`, one rule is a custom JSON Schema
 * (which loads ajv).
 */
export function benchPolicy({ jsonSchema = false } = {}) {
  const rule = (name, kind, severity, body) =>
    [
      `  - name: ${name}`,
      `    kind: ${kind}`,
      `    severity: ${severity}`,
      `    message: ${q(`bench rule ${name}`)}`,
      ...body.map((l) => `    ${l}`),
    ].join('\n');
  const rules = [
    rule('robot-cap', 'maxCall', 'error', ['min: 1', 'max: 200']),
    rule('calling-hours', 'dialingHours', 'error', ['between: "08:00-21:00"']),
    rule('head-office-zone', 'dialingHours', 'warn', ['between: "00:00-24:00"', 'days: Mon-Sun', 'zoneSecond: 28800']),
    rule('approved-routes', 'allowedValues', 'error', ['field: routeID', 'values: ["route-*"]']),
    rule('approved-scenes', 'allowedValues', 'error', [
      'field: sceneID',
      'values: ["scene-plain-*", "scene-sms-*", "scene-aicc-*"]',
    ]),
    rule('approved-strategies', 'allowedValues', 'warn', ['field: strategyName', 'values: ["strategy-*"]']),
    rule('callback-hosts', 'callbackUrl', 'error', ['hosts: [hooks.example.com]']),
    rule('no-immediate-start', 'forbiddenStartupTypes', 'error', ['values: [3]']),
    rule('whole-tts', 'requiredFuncFlags', 'error', ['funcFlag: { wholeTTS: true }']),
    jsonSchema
      ? rule('ring-time', 'jsonSchema', 'warn', [
          'schema:',
          '  properties:',
          '    taskCreateSetting:',
          '      properties:',
          '        maxRingTime: { maximum: 40 }',
        ])
      : rule('soft-cap', 'maxCall', 'warn', [
          'max: 43',
          'exempt:',
          '  - tasks: "bench-task-000*"',
          '    reason: "pilot campaign, approved until 2027"',
        ]),
  ];
  return `# callform benchmark policy (generated): 10 rules\nrules:\n${rules.join('\n')}\n`;
}

/**
 * Writes a project into `dir`.
 * n tasks, 50 per file; a task differs from state when isChanged(i).
 * With `policy` ('builtin' or 'jsonSchema'), also policies/bench.yaml and policyFiles in the settings.
 * Returns { tasks: [{ userTaskID, sceneID, taskID, desired, recorded, changed }], files, changed }.
 * @param {string} dir
 * @param {number} n
 * With `json(f)` true, file f is JSON instead of YAML; with `sms`, every task has SMS rules.
 * @param {{ perFile?: number, isChanged?: (i: number) => boolean, config?: object, policy?: 'builtin' | 'jsonSchema' | null, json?: (f: number) => boolean, sms?: boolean }} [options]
 */
export async function generateProject(
  dir,
  n,
  { perFile = 50, isChanged = (i) => i % 10 === 3, config = {}, policy = null, json = () => false, sms = false } = {},
) {
  await mkdir(path.join(dir, 'tasks'), { recursive: true });
  if (policy) {
    await mkdir(path.join(dir, 'policies'), { recursive: true });
    await writeFile(path.join(dir, 'policies', 'bench.yaml'), benchPolicy({ jsonSchema: policy === 'jsonSchema' }));
    config = { policyFiles: 'policies/*.yaml', ...config };
  }
  const settings = {
    tasks: 'tasks/**/*.{yaml,yml,json}',
    state: 'callform.state.json',
    algorithm: 'MD5',
    parallelism: 8,
    timeoutMs: 15000,
    retries: 3,
    ...config,
  };
  await writeFile(
    path.join(dir, 'callform.config.yaml'),
    `# callform benchmark project (generated)\n${Object.entries(settings)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? q(v) : v}`)
      .join('\n')}\n`,
  );
  const tasks = [];
  const fileCount = Math.ceil(n / perFile);
  const writes = [];
  for (let f = 0; f < fileCount; f++) {
    const { kind, defaults } = fileDefaults(f, sms);
    const own = [];
    for (let i = f * perFile; i < Math.min(n, (f + 1) * perFile); i++) {
      const t = taskOwn(i, f, kind);
      own.push(t);
      const merged = merge(defaults, t);
      const desired = { taskCreateSetting: merged.taskCreateSetting, funcFlag: merged.funcFlag };
      const changed = Boolean(isChanged(i));
      tasks.push({
        userTaskID: t.userTaskID,
        sceneID: t.sceneID,
        taskID: remoteTaskId(i),
        desired,
        recorded: changed ? perturb(desired, i) : clone(desired),
        changed,
      });
    }
    if (json(f)) {
      const text = JSON.stringify({ defaults, tasks: own }, null, 2) + '\n';
      writes.push(writeFile(path.join(dir, 'tasks', `campaign-${String(f).padStart(4, '0')}.json`), text));
      continue;
    }
    const body = [
      `# Campaign ${f} (${kind}): ${own.length} tasks. Defaults are deep-merged under every task.`,
      'defaults:',
      yamlBlock(defaults, 2),
      '',
      'tasks:',
      ...own.map((t) => {
        const lines = yamlBlock(t, 4).split('\n');
        lines[0] = `  - ${lines[0].trimStart()}`;
        return lines.join('\n');
      }),
      '',
    ].join('\n');
    writes.push(writeFile(path.join(dir, 'tasks', `campaign-${String(f).padStart(4, '0')}.yaml`), body));
  }
  await Promise.all(writes);
  const appliedAt = new Date(Date.now() - 86400000).toISOString();
  const state = { version: 1, lineage: randomUUID(), serial: 1, tasks: {} };
  for (const t of tasks) {
    state.tasks[t.userTaskID] = {
      sceneID: t.sceneID,
      taskID: t.taskID,
      taskCreateSetting: t.recorded.taskCreateSetting,
      funcFlag: t.recorded.funcFlag,
      appliedAt,
    };
  }
  await writeFile(path.join(dir, 'callform.state.json'), JSON.stringify(state, null, 2) + '\n');
  return { tasks, files: fileCount, changed: tasks.filter((t) => t.changed).length };
}

/** Simulator seed whose remote settings equal the recorded state (status 1 = not started). */
export function seedFor(tasks) {
  return {
    tasks: tasks.map((t) => ({
      userTaskID: t.userTaskID,
      sceneID: t.sceneID,
      taskID: t.taskID,
      taskStatus: 1,
      taskCreateSetting: clone(t.recorded.taskCreateSetting),
      funcFlag: clone(t.recorded.funcFlag),
    })),
  };
}
