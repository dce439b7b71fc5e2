import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The import direction of DESIGN.md, as lint zones: each folder may only reach the folders listed.
const ours = ['contracts', 'workflows', 'activities', 'core', 'db', 'api', 'workers', 'web'];
const allowed = {
  contracts: [],
  workflows: ['contracts'],
  activities: ['contracts', 'core', 'db'],
  core: ['contracts', 'db'],
  db: ['contracts'],
  api: ['contracts', 'core', 'db'],
  workers: ['contracts', 'core', 'db', 'activities', 'workflows'],
  // The dashboard runs in the browser: it shares types and constants with the API, nothing else.
  web: ['contracts'],
};
const forbiddenFor = (dir) =>
  ours
    .filter((o) => o !== dir && !allowed[dir].includes(o))
    .map((o) => ({ regex: `^(\\.\\.?/)+(.*/)?${o}(/|$)`, message: `${dir}/ must not import ${o}/ (DESIGN.md: layout and the direction of imports)` }));

const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'stream', 'events', 'util', 'worker_threads'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'web/dist/**', 'coverage/**', 'db/migrations/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly', AbortController: 'readonly', performance: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.keys(allowed)
    .filter((dir) => dir !== 'workflows')
    .map((dir) => ({ files: [`${dir}/**/*.ts`, `${dir}/**/*.tsx`], rules: { 'no-restricted-imports': ['error', { patterns: forbiddenFor(dir) }] } })),
  {
    // Browser globals need no list: typescript-eslint turns no-undef off, tsc (web/tsconfig.json, DOM lib) checks names.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...forbiddenFor('web'), { group: ['node:*', ...nodeBuiltins], message: 'The dashboard runs in the browser: no Node builtins.' }] },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbiddenFor('workflows'),
            { group: ['node:*', ...nodeBuiltins], message: 'Workflows are deterministic sandboxed code: no Node builtins.' },
            {
              // The tracing interceptors' workflow entry is sandbox-safe (it is built to be bundled): that file only.
              regex: '^(?!@temporalio/workflow$|@temporalio/common$|@temporalio/interceptors-opentelemetry/lib/workflow-interceptors\\.js$|\\.|zod$).*',
              message: 'Workflows may import only @temporalio/workflow and contracts/; side effects belong in activities/.',
            },
          ],
        },
      ],
    },
  },
);
