/**
 * The policy in force: the settings file's policy section and the policy files its
 * policyFiles globs match, validated (policy.schema.json, then each rule's own sense),
 * compiled once, with a digest of the sources. Every problem is located file:line:col.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { validatePolicy } from '../generated/policy-validator.js';
import type { CallformPolicy } from '../generated/policy.js';
import { ValidationError, fileLine, type Issue } from '../diagnostics/issue.js';
import { ajvIssues } from '../diagnostics/ajv.js';
import { createRequire } from 'node:module';
import {
  decodeUtf8,
  parseSource,
  parseSourceExact,
  type ParsedSource,
  type PathSegment,
  type SourceDocument,
} from '../diagnostics/source.js';
import { compileRules } from '../policy/compile.js';
import type { Policy } from '../policy/types.js';

export interface LoadPolicyOptions {
  /** Policy file globs and shown paths are relative to this directory (the settings file's). */
  baseDir: string;
  /** The settings file (absolute), when there is one: the policy section's home. */
  settingsFile: string | null;
  /** The settings' policy section, not yet checked. */
  inline?: object;
  patterns: string[];
}

/** Where a policy came from, and how to find a position in it. */
interface PolicySource {
  name: string;
  /** The exact bytes (files) or JSON (the settings' section) the digest covers. */
  content: Uint8Array | string;
  policy: CallformPolicy;
  doc: () => Promise<SourceDocument | undefined>;
  /** Path of the policy inside its document: [] in a policy file, ['policy'] in settings. */
  basePath: PathSegment[];
}

const NO_POSITIONS: SourceDocument = { value: undefined, locate: () => undefined };

/** js-yaml through require: the instance the task loader and cosmiconfig already use. */
const jsYaml = createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');

/**
 * Policy text → one document. Globs such as "route-*" look like YAML aliases to the task
 * loader's quick test and would take its exact (slower to load) path; without any anchor
 * ("&") there can be no alias, so js-yaml reads the values, and the exact parser runs only
 * to locate a problem or report a syntax error.
 */
function parsePolicyText(file: string, text: string): ParsedSource {
  if (!text.includes('&')) {
    try {
      const value: unknown = file.toLowerCase().endsWith('.json')
        ? JSON.parse(text)
        : jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
      let exact: ParsedSource | undefined;
      if (file.toLowerCase().endsWith('.json')) jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA }); // throws on duplicate keys
      return {
        issues: [],
        documents: [
          {
            value,
            locate: (path, exactPath, atKey) =>
              (exact ??= parseSourceExact(file, text)).documents[0]?.locate(path, exactPath, atKey),
          },
        ],
      };
    } catch {
      // Syntax errors, duplicate keys, several documents: the exact parser reports them.
    }
  }
  return parseSource(file, text);
}

/** The settings' policy section, checked against policy.schema.json (positions from the settings file). */
async function settingsSource(options: LoadPolicyOptions, inline: object, issues: Issue[]): Promise<PolicySource[]> {
  const file = options.settingsFile!;
  const name = path.relative(options.baseDir, file) || path.basename(file);
  const basePath: PathSegment[] = path.basename(file) === 'package.json' ? ['callform', 'policy'] : ['policy'];
  let parsed: SourceDocument | undefined;
  const doc = async () =>
    (parsed ??= /\.(m|c)?(j|t)s$/.test(file)
      ? NO_POSITIONS
      : (parseSource(file, await readFile(file, 'utf8')).documents[0] ?? NO_POSITIONS));
  if (!validatePolicy(inline)) {
    issues.push(
      ...ajvIssues(validatePolicy.errors, {
        file: name,
        basePath: ['policy'],
        sources: [{ doc: await doc(), basePath }],
      }),
    );
    return [];
  }
  return [{ name, content: JSON.stringify(inline), policy: inline as CallformPolicy, doc, basePath }];
}

async function fileSources(options: LoadPolicyOptions, issues: Issue[]): Promise<PolicySource[]> {
  if (options.patterns.length === 0) return [];
  const files = (
    await glob(options.patterns, { cwd: options.baseDir, onlyFiles: true, dot: false, expandDirectories: false })
  ).sort();
  if (files.length === 0) {
    issues.push({
      file: options.settingsFile ? path.relative(options.baseDir, options.settingsFile) : options.baseDir,
      message: `policyFiles ${options.patterns.join(', ')} match no file`,
      hint: 'fix the glob or add the policy file: a policy that is not found would let every change through',
    });
    return [];
  }
  const sources: PolicySource[] = [];
  for (const file of files) {
    const bytes = await readFile(path.resolve(options.baseDir, file));
    const { text, issue } = decodeUtf8(file, bytes);
    if (issue || text === undefined) {
      if (issue) issues.push(issue);
      continue;
    }
    const parsed = parsePolicyText(file, text);
    issues.push(...parsed.issues);
    const doc = parsed.documents.at(0);
    if (parsed.issues.length > 0 || !doc) continue;
    if (parsed.documents.length > 1)
      issues.push({
        file,
        position: parsed.documents[1].locate([]),
        message: 'a policy file holds one document',
        hint: 'put every rule in one rules list, or use several files',
      });
    if (!validatePolicy(doc.value)) {
      issues.push(...ajvIssues(validatePolicy.errors, { file, basePath: [], sources: [{ doc, basePath: [] }] }));
      continue;
    }
    sources.push({
      name: file,
      content: bytes,
      policy: doc.value as CallformPolicy,
      doc: () => Promise.resolve(doc),
      basePath: [],
    });
  }
  return sources;
}

/** Loads and compiles the policy, or returns null when none is configured. */
export async function loadPolicy(options: LoadPolicyOptions): Promise<Policy | null> {
  if (!options.inline && options.patterns.length === 0) return null;
  const issues: Issue[] = [];
  const sources = [
    ...(options.inline && options.settingsFile ? await settingsSource(options, options.inline, issues) : []),
    ...(await fileSources(options, issues)),
  ];
  const owned = sources.flatMap((source) =>
    source.policy.rules.map((rule, index) => ({
      rule,
      source,
      path: [...source.basePath, 'rules', index] as PathSegment[],
    })),
  );
  const locate = async (at: { source: PolicySource; path: PathSegment[] }, rest: PathSegment[] = [], atKey = false) =>
    (await at.source.doc())?.locate([...at.path, ...rest], false, atKey);
  const firstByName = new Map<string, (typeof owned)[number]>();
  for (const entry of owned) {
    const first = firstByName.get(entry.rule.name);
    if (!first) {
      firstByName.set(entry.rule.name, entry);
      continue;
    }
    issues.push({
      file: entry.source.name,
      position: await locate(entry, ['name']),
      message: `rule name "${entry.rule.name}" is already used at ${fileLine(first.source.name, await locate(first, ['name']))}`,
      hint: 'give every rule its own name: violations, exemptions and plans refer to rules by name',
    });
  }
  const compiled = compileRules(owned.map((o) => o.rule));
  for (const p of compiled.problems) {
    const entry = owned[p.rule];
    issues.push({
      file: entry.source.name,
      position: await locate(entry, p.at),
      message: `rule "${entry.rule.name}": ${p.message}`,
      hint: p.hint,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues, 'the policy');
  const digest = createHash('sha256');
  for (const s of sources) digest.update(`${s.name}\0`).update(s.content).update('\0');
  return { rules: compiled.rules, sources: sources.map((s) => s.name), digest: digest.digest('hex') };
}
