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
 * Two projects: every test with the default Kafka client (kafkajs), and the consumer's exactly-once tests and the
 * whole pipeline again with TICKSYNC_KAFKA_CLIENT=confluent, which the worker processes they start inherit.
 * replay, replay-faults and consume-faults run on confluent too (exactly once, kill -9, broker restart, unreachable
 * broker, a two-worker rebalance, a frozen member's late writes: what the client must guarantee); their tests of
 * TickSync's own handling (replay's pacing, S3 source and script; consume-faults' S3 outage) run on kafkajs only,
 * for CI's time
 * (docs/ARCHITECTURE.md, "Tests and CI"). One file of one project:
 * `npx jest test/integration/x.test.ts --selectProjects kafkajs` (the file first: the option takes every word
 * after it as a project name). kafka-adapter.test.ts runs both clients itself.
 */
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...base, displayName: 'kafkajs', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'confluent',
      testMatch: ['**/integration/{consume,pipeline,replay,replay-faults,consume-faults}.test.ts'],
      setupFiles: ['<rootDir>/test/helpers/confluent-client.ts'],
    },
  ],
  // Integration tests start processes and wait on real services.
  testTimeout: 180_000,
};
