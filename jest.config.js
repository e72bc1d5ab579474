// Jest runs TypeScript through SWC (type-checking is `tsc`'s job in `npm test`).
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
};

/**
 * Two projects: every test with the default Kafka client (kafkajs), and the tests of the replay's and the
 * consumer's guarantees (exactly once, faults, the pipeline) again with TICKSYNC_KAFKA_CLIENT=confluent, which
 * the worker processes they start inherit. One of them alone: `npx jest --selectProjects kafkajs ...`.
 * (kafka-adapter.test.ts runs both clients itself.)
 */
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...base, displayName: 'kafkajs', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'confluent',
      testMatch: ['**/integration/{replay,replay-faults,consume,consume-faults,pipeline}.test.ts'],
      setupFiles: ['<rootDir>/test/helpers/confluent-client.ts'],
    },
  ],
  // Integration tests start processes and wait on real services.
  testTimeout: 180_000,
};
