/**
 * callform's library API: the CLI is a thin shell over these functions.
 * Layers, in data-flow order: model (domain types, at the bottom) · diagnostics →
 * config → state → plan (pure) → apply (via the api client) → render; workflow
 * orchestrates them for each command.
 */
export * from './errors.js';
export * from './model/index.js';
export { TOOL_VERSION } from './version.js';
export type { CallformTask, ManualCallSetting, SmsRule } from './generated/task.js';
export type { CallformSettings } from './generated/config.js';
export type { CallformPolicy } from './generated/policy.js';
export type { DialWindow, DeclaredTaskCreateSetting } from './generated/task.js';
export type { CallformState, TaskState } from './generated/state.js';
export { ValidationError, formatIssue, type Issue, type SourcePosition } from './diagnostics/issue.js';
export { loadSettings, credentialsFromEnv, type ResolvedSettings, type Credentials } from './config/settings.js';
export { loadTasks, mergeDefaults, type LoadedTasks } from './config/load-tasks.js';
export { readState, writeStateFile, emptyState } from './state/state.js';
export { StateWriter } from './state/writer.js';
export { acquireStateLock, forceUnlock, type StateLock, type LockInfo } from './state/lock.js';
export {
  openStateBackend,
  resolveStateSetting,
  type StateBackend,
  type StateSetting,
  type BackendLockOptions,
} from './state/backend.js';
export type { HistoryRun, HistoryQuery } from './state/history.js';
export { diffSettings, payloadSettings } from './plan/diff.js';
export { buildPlan, type PlanInput } from './plan/plan.js';
export { readSavedPlan, writeSavedPlan, staleReason, planStaleness, type Staleness } from './plan/saved-plan.js';
export {
  compileDialWindow,
  scheduleOf,
  rawOf,
  windowFormOf,
  describeSchedule,
  describeCells,
  cellsOf,
  cellsMinus,
  widens,
  loneHalfHours,
  formatZone,
  type DialSchedule,
  type DialWindowForm,
  type RawDialFields,
  type WindowProblem,
} from './windows/index.js';
export { loadPolicy, type LoadPolicyOptions } from './config/load-policy.js';
export {
  compileRules,
  evaluatePolicy,
  policyReport,
  blockingViolations,
  formatViolation,
  formatExemption,
  type Policy,
  type PolicyRule,
  type PolicySubject,
  type PolicyResult,
  type CompiledRule,
  type Finding,
} from './policy/index.js';
export {
  reviewPlan,
  derivePlanParts,
  type DerivedParts,
  classifyRisks,
  RISK_DETECTORS,
  dialWindowChange,
  policySubjects,
  type RiskDetector,
  type SentChanges,
} from './review/index.js';
export { editedPart, policyReportDifference } from './review/edited.js';
export { applyPlan, type ApplyResult, type TaskResult, type ApplyOptions } from './apply/apply.js';
export type { ApiTraffic } from './apply/report.js';
export { runPool } from './concurrency/pool.js';
export {
  RateController,
  describeRate,
  type RateSnapshot,
  type ControllerOptions,
  type ConcurrencyMode,
} from './concurrency/controller.js';
export { readRemoteTasks } from './remote/statuses.js';
export {
  NxCloudClient,
  gotTransport,
  type HttpPost,
  type ClientOptions,
  type CallGate,
  type GateOutcome,
  type ClientTraffic,
} from './api/client.js';
export { ApiError } from './api/errors.js';
export { sign, authRaw, type SignAlgorithm } from './api/sign.js';
export * from './api/wire.js';
export { renderPlanText, renderApplySummary } from './render/text.js';
export { renderPlanMarkdown, MARKDOWN_MARKER, MARKDOWN_LIMIT } from './render/markdown.js';
export { renderPlanJson } from './render/json.js';
export {
  renderAllEnvsMarkdown,
  renderAllEnvsText,
  renderAllEnvsJson,
  envSummary,
  ALL_ENVS_BUDGET,
  type EnvironmentPlan,
} from './render/environments.js';
export { mergeLayers, type Layer, type LayerOrigin, type MergedLayers, type FieldProvenance } from './model/layers.js';
export { resolveEnvironments, type EnvironmentSpec } from './config/environments.js';
export * from './workflow/index.js';
