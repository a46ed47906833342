/** Glob-style --target matching: `*` any run of characters, `?` one character. */
export function targetMatcher(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export function matchesTargets(id: string, targets: string[] | null): boolean {
  if (!targets || targets.length === 0) return true;
  return targets.some((t) => targetMatcher(t).test(id));
}
