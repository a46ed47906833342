import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * FORCE_COLOR as the Node.js ecosystem reads it (supports-color, chalk): `0` and `false` turn
 * colours off; any other value (empty, `1`, `true`, …) turns them on; unset leaves it to the terminal.
 */
function forceColor(env: NodeJS.ProcessEnv): boolean | undefined {
  const v = env.FORCE_COLOR;
  if (v === undefined) return undefined;
  return !['0', 'false'].includes(v.trim().toLowerCase());
}

/** Colours only on a TTY, never under NO_COLOR; FORCE_COLOR forces them on (or, `0` / `false`, off). */
export function colorsFor(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  override?: boolean,
): Colors {
  const enabled = override ?? (!('NO_COLOR' in env) && (forceColor(env) ?? Boolean(stream.isTTY)));
  return pc.createColors(enabled);
}

export const noColors: Colors = pc.createColors(false);
