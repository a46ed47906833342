/** Glob-style --target matching: `*` any run of characters, `?` one character. */
export function targetMatcher(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** One function, not a new one per plan: the plan loop's optimised code stays valid from one environment to the next. */
const everyTask = (): boolean => true;

/** A predicate for the --target patterns (null or empty: every task), compiled once. */
export function targetFilter(targets: string[] | null): (id: string) => boolean {
  if (!targets || targets.length === 0) return everyTask;
  const matchers = targets.map(targetMatcher);
  return (id) => matchers.some((m) => m.test(id));
}
