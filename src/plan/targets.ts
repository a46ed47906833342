/** A glob as a regular expression's body: `*` any run of characters, `?` one character. */
function globBody(pattern: string): string {
  return pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
}

/** Glob-style --target matching: `*` any run of characters, `?` one character. */
export function targetMatcher(pattern: string): RegExp {
  return new RegExp(`^${globBody(pattern)}$`);
}

/** One expression that matches what any of the globs matches: one test per ID, not one per glob. */
export function anyGlobMatcher(patterns: readonly string[]): RegExp {
  if (patterns.length === 0) return /(?!)/; // no glob matches nothing
  return new RegExp(`^(?:${patterns.map(globBody).join('|')})$`);
}

/** One function, not a new one per plan: the plan loop's optimised code stays valid from one environment to the next. */
const everyTask = (): boolean => true;

/** A predicate for the --target patterns (null or empty: every task), compiled once. */
export function targetFilter(targets: string[] | null): (id: string) => boolean {
  if (!targets || targets.length === 0) return everyTask;
  const matcher = anyGlobMatcher(targets);
  return (id) => matcher.test(id);
}
