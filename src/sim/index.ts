/** The simulator's public surface (`callform/sim`). */
export { startSimulator } from './server.js';
export { runSimCli, type SimCliArgs } from './cli.js';
export { loadSeedFile, validateSeed, SeedError, type SimTask, type SeedFile, type SeedTask } from './seed.js';
export { FAULT_KINDS, mulberry32, type FaultKind } from './faults.js';
export { THROTTLE_STYLES, defaultBurst, type ThrottleStyle } from './throttle.js';
export { DEFAULT_SIM_UUID, DEFAULT_SIM_SECRET, SIM_ENDPOINTS, MAX_BODY_BYTES, HISTORY_LIMIT } from './types.js';
export type {
  Simulator,
  SimulatorOptions,
  SimStats,
  SimFaultSettings,
  SimEndpoint,
  SimStatusCause,
  SimStatusChange,
  SimCallRecord,
  SimPendingPause,
  SimTaskHistory,
  SimLogEntry,
} from './types.js';
