// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * Import direction: apps → front/engine → jobs → queue/storage/runners → core → proto. libs/jobs (the job lifecycle)
 * is what the front and the engine share; it never reaches up to them. libs/client (the Node client) uses core and
 * proto only, and only apps/cli uses it.
 */
const layers = [
  {
    target: './libs/proto',
    from: [
      './libs/client',
      './libs/config',
      './libs/core',
      './libs/storage',
      './libs/queue',
      './libs/runners',
      './libs/jobs',
      './libs/engine',
      './libs/front',
      './apps',
    ],
  },
  {
    target: './libs/config',
    from: [
      './libs/client',
      './libs/core',
      './libs/storage',
      './libs/queue',
      './libs/runners',
      './libs/jobs',
      './libs/engine',
      './libs/front',
      './apps',
    ],
  },
  {
    target: './libs/core',
    from: [
      './libs/client',
      './libs/config',
      './libs/storage',
      './libs/queue',
      './libs/runners',
      './libs/jobs',
      './libs/engine',
      './libs/front',
      './apps',
    ],
  },
  {
    target: './libs/storage',
    from: ['./libs/client', './libs/queue', './libs/runners', './libs/jobs', './libs/engine', './libs/front', './apps'],
  },
  {
    target: './libs/queue',
    from: [
      './libs/client',
      './libs/storage',
      './libs/runners',
      './libs/jobs',
      './libs/engine',
      './libs/front',
      './apps',
    ],
  },
  {
    target: './libs/runners',
    from: ['./libs/client', './libs/storage', './libs/queue', './libs/jobs', './libs/engine', './libs/front', './apps'],
  },
  { target: './libs/jobs', from: ['./libs/client', './libs/engine', './libs/front', './apps'] },
  { target: './libs/engine', from: ['./libs/client', './libs/front', './apps'] },
  { target: './libs/front', from: ['./libs/client', './libs/engine', './apps'] },
  {
    target: './libs/client',
    from: [
      './libs/config',
      './libs/storage',
      './libs/queue',
      './libs/runners',
      './libs/jobs',
      './libs/engine',
      './libs/front',
      './apps',
    ],
  },
  {
    target: ['./apps/all-in-one', './apps/common', './apps/grpc-front', './apps/migrate', './apps/worker'],
    from: './libs/client',
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'libs/proto/src/gen/**',
      'coverage/**',
      'test-results/**',
      'bench/results/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      'import-x/no-restricted-paths': ['error', { zones: layers }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(\\.\\./)+(libs/)?(proto|config|core|storage|queue|runners|jobs|engine|front|client)/src/(?!index\\.js$).+',
              message: 'Import another lib through its src/index.js, not its internals.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      'no-restricted-imports': 'off',
    },
  },
);
