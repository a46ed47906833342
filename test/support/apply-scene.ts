/**
 * A small apply scene shared by the lock and PostgreSQL tests: `count` tasks seeded in a
 * fresh simulator (status 1, not started) and declared in a fresh project, with the
 * environment the CLI needs to reach the simulator.
 */
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { createProject, simEnv, type ProjectSettings, type TempProject } from './project.js';

const SCENE = 'scene-t';

/** `count` task specs `<prefix>-00`, … with maxCall `maxCall + i`. */
export function sceneTasks(prefix: string, count: number, maxCall = 3) {
  return Array.from({ length: count }, (_, i) => ({
    userTaskID: `${prefix}-${String(i).padStart(2, '0')}`,
    sceneID: SCENE,
    taskCreateSetting: { taskName: `${prefix} ${i}`, maxCall: maxCall + i, startupType: 1 },
    funcFlag: { taskKeep: true },
  }));
}

export type SceneTask = ReturnType<typeof sceneTasks>[number];

export interface Scene {
  sim: Simulator;
  p: TempProject;
  tasks: SceneTask[];
  env: Record<string, string | undefined>;
}

export async function applyScene(
  prefix: string,
  count: number,
  options: { latencyMs?: number; parallelism?: number; settings?: ProjectSettings } = {},
): Promise<Scene> {
  const tasks = sceneTasks(prefix, count);
  const sim = await startSimulator({
    latencyMs: options.latencyMs ?? 0,
    seed: { tasks: tasks.map((t) => ({ userTaskID: t.userTaskID, sceneID: SCENE, taskStatus: 1 })) },
  });
  const p = await createProject(
    { parallelism: options.parallelism ?? 4, timeoutMs: 10_000, retries: 1, ...options.settings },
    `callform-${prefix}-`,
  );
  await p.writeCollections({ all: { tasks } });
  return { sim, p, tasks, env: simEnv(sim) };
}

/** The server holds every declared maxCall. */
export function converged(sim: Simulator, tasks: readonly SceneTask[]): boolean {
  return tasks.every((t) => sim.tasks.get(t.userTaskID)?.taskCreateSetting.maxCall === t.taskCreateSetting.maxCall);
}
