/** A problem in a declared dialing window, located relative to the window object. */
export interface WindowProblem {
  /** Path inside the window: ['days'], ['days', 2], ['hours', 1], or [] for the whole window. */
  at: Array<string | number>;
  message: string;
  hint?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: WindowProblem[] };

export const parsed = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const failed = <T>(problems: WindowProblem[]): Parsed<T> => ({ ok: false, problems });
