import { CallformError } from '../errors.js';

/** 1-based line and column, as editors show them. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One validation problem, located as precisely as the input allows. */
export interface Issue {
  file: string;
  position?: SourcePosition;
  /** Dotted field path inside the document, e.g. tasks[2].taskCreateSetting.maxCall. */
  path?: string;
  message: string;
  hint?: string;
}

/** "file:line" (or just the file when the position is unknown). */
export function fileLine(file: string, position: SourcePosition | undefined): string {
  return position ? `${file}:${position.line}` : file;
}

export function formatIssue(issue: Issue): string {
  const where = issue.position ? `${issue.file}:${issue.position.line}:${issue.position.column}` : issue.file;
  const field = issue.path ? ` ${issue.path}:` : '';
  const hint = issue.hint ? `\n    hint: ${issue.hint}` : '';
  return `${where}:${field} ${issue.message}${hint}`;
}

/** Reading order: by file, then line, then column (unlocated issues of a file first). */
export function sortIssues(issues: Issue[]): Issue[] {
  const key = (i: Issue) => [i.file, i.position?.line ?? 0, i.position?.column ?? 0] as const;
  return [...issues].sort((a, b) => {
    const [fa, la, ca] = key(a);
    const [fb, lb, cb] = key(b);
    return fa < fb ? -1 : fa > fb ? 1 : la - lb || ca - cb;
  });
}

/** Every problem found in one run, reported together. */
export class ValidationError extends CallformError {
  readonly issues: Issue[];

  constructor(issues: Issue[], what = 'input') {
    issues = sortIssues(issues);
    super(
      `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${what}:\n` +
        issues.map((i) => '  ' + formatIssue(i)).join('\n'),
    );
    this.issues = issues;
    this.name = 'ValidationError';
  }
}
