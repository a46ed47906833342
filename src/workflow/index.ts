/** The library's use cases, one orchestration layer: the CLI only parses arguments and renders. */
export * from './project.js';
export * from './plan.js';
export * from './apply.js';
export * from './doctor.js';
export * from './import.js';
export * from './policy-gate.js';
export { openSelection, assertCredentials, type ProjectSelection, type EnvironmentChoice } from './environments.js';
export * from './explain.js';
