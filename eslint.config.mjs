// ESLint with typescript-eslint's type-checked rules. Rules that matter most in a
// reconciler that races sends against state writes: floating and misused promises,
// unsafe `any`, and conditions the types say can never change.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node globals used by the plain-JavaScript tools (bench/, scripts/, this file).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'URL',
    'Buffer',
    'fetch',
    'structuredClone',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
  ].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  {
    ignores: ['dist/', 'coverage/', 'reports/', '.stryker-tmp/', 'bench/work/', 'src/generated/', 'node_modules/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // src/ and test/ have their own tsconfig.json; the root-level config files, bench/ and
        // scripts/ are outside both, so they get a default project with the root compiler options.
        projectService: {
          allowDefaultProject: ['*.mjs', '*.ts', 'bench/*.mjs', 'scripts/*.mjs'],
          defaultProject: 'tsconfig.json',
          // The root configs, bench modules and scripts use it (about 15 files); the default cap of 8 is a performance guard.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // `_`-prefixed names are the deliberate "not used" marker (rest-omit of a field, an unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Off in tests: fakes implement Promise-returning interfaces, and `async` keeps their throws as rejections.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript: parsed with type information so the promise rules still run, but it has
    // no annotations, so every JSON.parse, dynamic import and untyped parameter is `any`.
    files: ['**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
    rules: {
      // Off for .mjs only: without annotations every value from JSON or an untyped parameter is `any`.
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Off for .mjs only: same reason as no-unsafe-argument.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Off for .mjs only: same reason as no-unsafe-argument.
      '@typescript-eslint/no-unsafe-call': 'off',
      // Off for .mjs only: same reason as no-unsafe-argument.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // Off for .mjs only: same reason as no-unsafe-argument.
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
