/**
 * callform's library API: the CLI is a thin shell over these functions.
 * Layers, in data-flow order: config → state → plan (pure) → apply (via the api client) → render.
 */
export * from './errors.js';
export { TOOL_VERSION } from './version.js';
export type { CallformTask, TaskCreateSetting, FuncFlag, ManualCallSetting, SmsRule } from './generated/task.js';
export type { CallformSettings } from './generated/config.js';
export type { CallformState, TaskState } from './generated/state.js';
export type { CallformPlan, TaskPlan, SettingChange, UpdateTaskPayload, ManagedSettings } from './generated/plan.js';
export { loadSettings, credentialsFromEnv, type ResolvedSettings, type Credentials } from './config/settings.js';
export { loadTasks, mergeDefaults, type DesiredTask, type LoadedTasks } from './config/load-tasks.js';
export { readState, writeStateFile, emptyState, StateWriter } from './state/state.js';
export { acquireStateLock, forceUnlock, type StateLock, type LockInfo } from './state/lock.js';
export { diffSettings, payloadSettings } from './plan/diff.js';
export { buildPlan, planHasChanges, PLAN_FORMAT_VERSION, type PlanInput } from './plan/plan.js';
export { readSavedPlan, writeSavedPlan, staleReason } from './plan/saved-plan.js';
export { applyPlan, type ApplyResult, type TaskResult, type ApplyOptions } from './apply/apply.js';
export { NxCloudClient, gotTransport, runPool, type HttpPost, type ClientOptions } from './api/client.js';
export { ApiError } from './api/errors.js';
export { sign, authRaw, type SignAlgorithm } from './api/sign.js';
export * from './api/types.js';
export { renderPlanText, renderApplySummary } from './render/text.js';
export { renderPlanMarkdown, MARKDOWN_MARKER, MARKDOWN_LIMIT } from './render/markdown.js';
export { renderPlanJson } from './render/json.js';
export * from './workflow.js';
