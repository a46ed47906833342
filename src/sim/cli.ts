/** `callform sim`: turns the command-line options into SimulatorOptions and starts the simulator. */
import { parseFaultKinds } from './faults.js';
import type { ThrottleStyle } from './throttle.js';
import type { Simulator, SimulatorOptions } from './types.js';
import { startSimulator } from './server.js';
import { CallformError } from '../errors.js';

export interface SimCliArgs {
  port?: number;
  host?: string;
  uuid?: string;
  secret?: string;
  seed?: string;
  latencyMs?: number;
  faultRate?: number;
  /** Comma-separated fault kinds. */
  faultKinds?: string;
  faultSeed?: number;
  timeoutFaultMs?: number;
  pauseDelayMs?: number;
  rateLimit?: number;
  burst?: number;
  /** http429 | retcode7 | mixed (checked by startSimulator). */
  throttleStyle?: string;
}

/** Options as startSimulator takes them; the values are checked there (bad ones throw). */
function simOptionsFromCli(argv: SimCliArgs): SimulatorOptions {
  const opts: SimulatorOptions = {};
  if (argv.port !== undefined) opts.port = Number(argv.port);
  if (argv.host !== undefined) opts.host = argv.host;
  if (argv.uuid !== undefined) opts.uuid = argv.uuid;
  if (argv.secret !== undefined) opts.secret = argv.secret;
  if (argv.seed !== undefined) opts.seed = argv.seed;
  if (argv.latencyMs !== undefined) opts.latencyMs = Number(argv.latencyMs);
  if (argv.faultRate !== undefined) opts.faultRate = Number(argv.faultRate);
  if (argv.faultKinds !== undefined) opts.faultKinds = parseFaultKinds(argv.faultKinds);
  if (argv.faultSeed !== undefined) opts.faultSeed = Number(argv.faultSeed);
  if (argv.timeoutFaultMs !== undefined) opts.timeoutFaultMs = Number(argv.timeoutFaultMs);
  if (argv.pauseDelayMs !== undefined) opts.pauseDelayMs = Number(argv.pauseDelayMs);
  if (argv.rateLimit !== undefined) opts.rateLimit = Number(argv.rateLimit);
  if (argv.burst !== undefined) opts.burst = Number(argv.burst);
  // A bucket size without a bucket would be silently ignored.
  if (opts.burst !== undefined && !(opts.rateLimit && opts.rateLimit > 0)) {
    throw new CallformError(
      '--burst needs --rate-limit',
      '--burst is the size of the token bucket that --rate-limit <req/s> turns on',
    );
  }
  if (argv.throttleStyle !== undefined) opts.throttleStyle = argv.throttleStyle as ThrottleStyle;
  return opts;
}

/** Starts the simulator and prints one line: `callform sim listening on http://HOST:PORT uuid=... secret=...`. */
export async function runSimCli(argv: SimCliArgs): Promise<Simulator> {
  const sim = await startSimulator(simOptionsFromCli(argv));
  process.stdout.write(`callform sim listening on ${sim.url} uuid=${sim.uuid} secret=${sim.secret}\n`);
  return sim;
}
