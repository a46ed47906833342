import type { RemoteTask } from '../model/task.js';
import type { ListTaskRequest } from '../api/wire.js';
import { runPool } from '../concurrency/pool.js';

/** What reading statuses needs from the API client. */
export interface ListClient {
  listTaskPages(conditions: ListTaskRequest['queryConditions'], size?: number): Promise<RemoteTask[]>;
}

/** listTask takes this many userTaskIDs per query (and pages of this size). */
const STATUS_BATCH = 100;

/** Status of many tasks: batches of userTaskIDs, `parallelism` batches at a time; unknown IDs are absent. */
export async function readRemoteTasks(
  client: ListClient,
  ids: readonly string[],
  parallelism: number,
): Promise<Map<string, RemoteTask>> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += STATUS_BATCH) batches.push(ids.slice(i, i + STATUS_BATCH));
  const result = new Map<string, RemoteTask>();
  await runPool(batches, parallelism, async (batch) => {
    const wanted = new Set(batch);
    for (const t of await client.listTaskPages({ userTaskID: batch }, STATUS_BATCH)) {
      if (wanted.has(t.userTaskID))
        result.set(t.userTaskID, {
          userTaskID: t.userTaskID,
          taskID: t.taskID,
          sceneID: t.sceneID,
          taskStatus: t.taskStatus,
        });
    }
  });
  return result;
}
