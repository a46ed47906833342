import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colours only on a TTY, never under NO_COLOR; FORCE_COLOR forces them on. */
export function colorsFor(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  override?: boolean,
): Colors {
  const enabled = override ?? (!('NO_COLOR' in env) && ('FORCE_COLOR' in env || Boolean(stream.isTTY)));
  return pc.createColors(enabled);
}

export const noColors: Colors = pc.createColors(false);
