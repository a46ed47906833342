// Runs after tsc (`npm run build`): bundles the CLI for a fast start (docs/performance.md, 4c).
//   dist/cli.bundle.cjs (+ .map)  src/cli.ts and everything it imports, one CommonJS script (rolldown)
//   dist/cli.js                   the program: runs the bundle with a V8 code cache (scripts/cli-loader.mjs)
//   dist/cli.bundle.cache         that cache, made by one `plan --offline` of examples/
//   dist/cli.bundle.env.cache     the cache of runs over environments: that plan, then `plan --offline --all-envs`
//                                 of examples/ in two environments with recorded states (scripts/code-cache-run.mjs)
// The rest of dist/ (the library: index.js, sim/, typings) stays tsc's output.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RolldownMagicString, build } from 'rolldown';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
const src = path.join(root, 'src');

/**
 * Makes each source module behave in the bundle as its tsc output in dist/ does:
 * `import.meta.url` is the URL that module has in dist/ (relative paths such as
 * ../package.json and ../../schemas stay right), and `createRequire(import.meta.url)(x)` is a
 * plain `require(x)`, which rolldown bundles.
 */
const asInDist = {
  name: 'callform-as-in-dist',
  transform: {
    filter: { id: /[\\/]src[\\/].*\.[jt]s$/ },
    handler(code, id) {
      const other = /import\.meta\.(?!url\b)\w+/.exec(code);
      if (other)
        throw new Error(`${id}: ${other[0]} has no meaning in the bundle: use import.meta.url (scripts/bundle.mjs)`);
      if (!code.includes('import.meta.url')) return null;
      const rel = path.relative(src, id).replace(/\.ts$/, '.js').split(path.sep).join('/');
      const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(rel)})).href`;
      const edited = new RolldownMagicString(code);
      const pattern =
        /const require = createRequire\(import\.meta\.url\);|createRequire\(import\.meta\.url\)|import\.meta\.url/g;
      for (const m of code.matchAll(pattern)) {
        const by = m[0].startsWith('const') ? '' : m[0].startsWith('createRequire') ? 'require' : url;
        edited.overwrite(m.index, m.index + m[0].length, by);
      }
      return { code: edited };
    },
  },
};

/**
 * fdir loads picomatch (for its own glob option, which tinyglobby does not use) through
 * `createRequire`, which no bundler follows: picomatch would be read from node_modules at every
 * start beside the bundled copy. As a plain `require` it is the bundled copy. If fdir changes
 * this code the replacement does nothing and it loads as before.
 */
const fdirPicomatch = {
  name: 'callform-fdir-picomatch',
  transform: {
    filter: { id: /[\\/]fdir[\\/]/ },
    // map: null keeps fdir's positions (no line moves).
    handler: (code) => ({
      code: code
        .replace('__require.resolve("picomatch");', '')
        .replace('__require("picomatch")', 'require("picomatch")'),
      map: null,
    }),
  },
};

/**
 * Node's built-in modules, and the packages only a few commands use, stay outside the bundle:
 * each becomes a one-line CommonJS module that requires it where the importing module first
 * runs, as before bundling. (As rolldown leaves an external, it would be required at the top of
 * the bundle, at every start: http, tls, zlib, crypto… for `--version`.) Kept out to keep the
 * bundle small, since every start reads it: pg (PostgreSQL state), yaml (syntax errors, the
 * simulator's seed), ajv and ajv-formats (a policy's jsonSchema rule).
 */
const LAZY = '\0callform-external:';
const LAZY_PACKAGES = new Set(['pg', 'yaml', 'ajv', 'ajv-formats']);
const isBuiltin = (id) => id.startsWith('node:') || builtinModules.includes(id);
const lazyExternals = {
  name: 'callform-lazy-externals',
  resolveId(source, importer) {
    if (!isBuiltin(source) && !LAZY_PACKAGES.has(source)) return null;
    return importer?.startsWith(LAZY) ? { id: source, external: true } : LAZY + source;
  },
  load(id) {
    return id.startsWith(LAZY) ? `module.exports = require(${JSON.stringify(id.slice(LAZY.length))});` : null;
  },
};

/**
 * A dynamic import() left in the bundle (cosmiconfig's, for a .mjs/.js settings file) cannot run
 * in a script compiled with a code cache on Node 20 (V8 loses its import callback): it calls the
 * loader's own import() instead, passed in as `__callformImport`.
 */
const dynamicImports = {
  name: 'callform-dynamic-imports',
  transform: {
    filter: { id: /[\\/]node_modules[\\/]/, code: 'import(' },
    handler: (code) => ({ code: code.replace(/\bawait import\(/g, 'await __callformImport('), map: null }),
  },
};

await build({
  input: path.join(src, 'cli.ts'),
  platform: 'node',
  // Optional peers loaded only by features callform does not use (cosmiconfig's TypeScript
  // config loader, pg's native binding).
  external: ['typescript', 'pg-native'],
  plugins: [lazyExternals, asInDist, fdirPicomatch, dynamicImports],
  output: {
    file: path.join(dist, 'cli.bundle.cjs'),
    format: 'cjs',
    codeSplitting: false,
    sourcemap: true,
    sourcemapExcludeSources: true,
    // Pure ASCII, so the loader reads it as latin1: Node 20 decodes megabytes of UTF-8 ~7× slower.
    charset: 'ascii',
    // Comments only cost reading; licence comments stay.
    comments: { legal: true, annotation: false, jsdoc: false },
  },
  logLevel: 'warn',
});

// The loader compiles the file as it is (no copy of ~2 MB to wrap it): a function of a CommonJS
// module's parameters, on a first line of its own (the loader's lineOffset -1 keeps the bundle's
// lines for stack traces and the source map). The hashbang becomes a comment.
const bundleFile = path.join(dist, 'cli.bundle.cjs');
const leftover = /[^\w$.]import\(/.exec(readFileSync(bundleFile, 'utf8'));
if (leftover)
  throw new Error(`dist/cli.bundle.cjs still has a dynamic import() at offset ${leftover.index}: see dynamicImports`);
const bundled = `(function (exports, require, module, __filename, __dirname, __callformImport) {\n${readFileSync(bundleFile, 'utf8').replace(/^#!/, '//')}\n})`;
writeFileSync(bundleFile, bundled);
const hash = createHash('sha256').update(bundled).digest('hex').slice(0, 32);
// eslint-disable-next-line no-control-regex -- the test is for bytes above 0x7f
const encoding = /[^\x00-\x7f]/.test(bundled) ? 'utf8' : 'latin1';
const loader = readFileSync(path.join(root, 'scripts', 'cli-loader.mjs'), 'utf8')
  .replace('__BUNDLE_HASH__', hash)
  .replace("'__BUNDLE_ENCODING__'", `'${encoding}'`);
writeFileSync(path.join(dist, 'cli.js'), loader);
chmodSync(path.join(dist, 'cli.js'), 0o755);

/**
 * The project the code caches' plans run: the examples as they are (callform.config.yaml, no
 * state), and the same tasks in two environments (callform.environments.yaml, one with the
 * staging overlay), each with a state that records most tasks as declared, some with another
 * value and some not at all. So what a run over environments compiles (overlay merging, the
 * state read, the diff) is in the environments' cache.
 */
async function writeCacheProject(work) {
  for (const entry of ['callform.config.yaml', 'tasks', 'policies', 'overlays'])
    cpSync(path.join(root, 'examples', entry), path.join(work, entry), { recursive: true });
  const env = (name) =>
    `  ${name}:\n    credentials: { uuid: NXCLOUD_UUID_${name.toUpperCase()}, secretKey: NXCLOUD_SECRET_KEY_${name.toUpperCase()} }\n    state: callform.${name}.state.json\n`;
  writeFileSync(
    path.join(work, 'callform.environments.yaml'),
    `tasks: "tasks/**/*.{yaml,yml,json}"\npolicyFiles: "policies/*.yaml"\nenvironments:\n${env('staging')}    overlays: "overlays/staging/*.yaml"\n${env('prod')}`,
  );
  const lib = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  const selection = await lib.openSelection({
    cwd: work,
    configFile: 'callform.environments.yaml',
    env: {},
    choice: { allEnvs: true },
    command: { name: 'plan', allowAll: true },
  });
  for (const project of selection.projects) {
    const state = { ...lib.emptyState(), serial: 1 };
    (await lib.loadProjectTasks(project)).tasks.forEach((t, i) => {
      if (i % 4 === 1) return;
      const taskCreateSetting = i % 4 === 2 ? { ...t.taskCreateSetting, maxCall: 9 } : t.taskCreateSetting;
      state.tasks[t.userTaskID] = {
        sceneID: t.sceneID,
        taskID: `T${i}`,
        taskCreateSetting,
        funcFlag: t.funcFlag,
        appliedAt: '2026-12-01T08:00:00.000Z',
      };
    });
    await lib.writeStateFile(path.join(work, `callform.${project.environment.name}.state.json`), state);
    await project.state.close();
  }
}

// The code caches: what one plan of the examples compiles (the commands share most of it), and
// what that plan and one of them in environments compile (scripts/code-cache-run.mjs), for
// runs over environments only.
const work = mkdtempSync(path.join(os.tmpdir(), 'callform-build-'));
try {
  await writeCacheProject(work);
  for (const { file, argv } of [
    { file: 'cli.bundle.cache', argv: [path.join(dist, 'cli.js'), 'plan', '--offline'] },
    { file: 'cli.bundle.env.cache', argv: [path.join(root, 'scripts', 'code-cache-run.mjs'), dist, '--all-envs'] },
  ]) {
    const cacheFile = path.join(dist, file);
    rmSync(cacheFile, { force: true });
    const run = spawnSync(process.execPath, argv, {
      cwd: work,
      // The examples as they are: no CALLFORM_* setting (CALLFORM_ENV…) of the shell that builds.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CALLFORM_'))),
        CALLFORM_BUILD_CODE_CACHE: cacheFile,
        NO_COLOR: '1',
      },
      encoding: 'utf8',
    });
    if (run.status !== 0)
      throw new Error(`the code cache's plans (${file}) failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
    if (!existsSync(cacheFile)) throw new Error(`the code cache's plans wrote no ${cacheFile}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
