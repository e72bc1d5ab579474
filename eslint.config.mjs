// Lint rules; `npm test` runs them. Workflow files get Temporal's determinism rules.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'object-shorthand': ['error', 'always'],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Kafka client libraries live behind lib/kafka/ (TICKSYNC_KAFKA_CLIENT picks one): each in its own adapter.
    files: ['**/*.ts'],
    ignores: ['lib/kafka/kafkajs.ts', 'lib/kafka/confluent.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['kafkajs', '@confluentinc/kafka-javascript'].map((name) => ({
            name,
            message: 'Use the Kafka adapter (lib/kafka): createKafka(config, logger).',
          })),
          patterns: [
            {
              group: ['@confluentinc/kafka-javascript/*'],
              message: 'Use the Kafka adapter (lib/kafka): createKafka(config, logger).',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code is replayed by the Temporal sandbox: it must be deterministic,
    // so no Node built-ins, no clients, no config from the environment.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: do this in an activity.',
          })),
          patterns: [
            {
              group: [
                'kafkajs',
                '@aws-sdk/*',
                'pino',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
              ],
              message: 'Workflow code cannot hold clients: do this in an activity.',
            },
            {
              group: ['**/lib/config', '**/lib/clients', '**/lib/logger', '**/lib/temporal'],
              message: 'Workflow code cannot read the environment or open connections.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code must not read the process environment.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow in a loop.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // Plain CommonJS that runs before node_modules exists.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node, crypto: 'off' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard page: a classic browser script beside uPlot's global.
    files: ['dashboard/page/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
);
