import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createS3Client } from '../../lib/clients';
import { loadConfig, type Config } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { type ConsumerInput, consumerProgressQuery, type ReplayInput, stopConsumerSignal } from '../../lib/contracts';
import { consumerWorkflow, replayWorkflow } from '../../workflows';
import type { GroupOffset } from '../../lib/kafka';
import { testKafka } from '../helpers/kafka';
import { consumerInputFor, expectExactlyOnce, readLake, waitForProgress } from '../helpers/lake';
import { largeCsv, replayInputFor } from '../helpers/replay';
import { runScript, withOwnService } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

// Each test replays for a while, breaks something and waits out Temporal's and Kafka's timeouts.
jest.setTimeout(300_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// jest's confluent project runs this file again with TICKSYNC_KAFKA_CLIENT=confluent (jest.config.js): every test of
// what the Kafka client must guarantee (kill -9, broker restart, rebalance, a frozen member's late writes) runs on
// both clients. The S3 outage tests the segment writer, not the client: kafkajs only, to keep CI's time.
const kafkajsOnly = process.env.TICKSYNC_KAFKA_CLIENT === 'confluent' ? test.skip : test;
let client: Client;
const workers: WorkerProcess[] = [];
const consumers: WorkflowHandle<typeof consumerWorkflow>[] = [];

beforeAll(async () => {
  client = await connectClient(loadConfig());
});

afterAll(async () => {
  // A consumer that a failed test left running would run (and retry) for a day.
  await Promise.all(consumers.map((handle) => handle.terminate('test over').catch(() => undefined)));
  await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  await client?.connection.close();
  // The workers' logs, for a failure seen only in CI.
  const logs = path.join(loadConfig().stack.dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  for (const worker of workers)
    fs.writeFileSync(path.join(logs, `consume-faults-worker-${worker.child.pid}.log`), worker.output());
});

/**
 * A pipeline under test: a producer worker that is never disturbed (replaying
 * into the topic) and consumer workers, each on queues of their own.
 */
function pipeline(extraEnv: NodeJS.ProcessEnv = {}) {
  const producerEnv = { ...extraEnv, TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-producer') };
  const consumerEnv = { ...extraEnv, TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-consumer') };
  const config = loadConfig({ ...process.env, ...consumerEnv });
  return {
    config,
    consumerEnv,
    startProducer: async () => workers.push(await startWorkerProcess('ingest', producerEnv)),
    startConsumerWorker: async () => {
      const worker = await startWorkerProcess('ingest', consumerEnv);
      workers.push(worker);
      return worker;
    },
    replay: (input: ReplayInput) =>
      client.workflow.start(replayWorkflow, {
        workflowId: `replay-${input.runId}`,
        taskQueue: producerEnv.TICKSYNC_INGEST_TASK_QUEUE,
        args: [input],
      }),
    consume: async (input: ConsumerInput) => {
      const handle = await client.workflow.start(consumerWorkflow, {
        workflowId: uniqueName('consumer'),
        taskQueue: consumerEnv.TICKSYNC_INGEST_TASK_QUEUE,
        args: [input],
      });
      consumers.push(handle);
      return handle;
    },
  };
}

/** Waits until the replay is done and the consumer holds nothing back, stops it, and checks raw/. */
async function expectAllOnceInS3(
  config: Config,
  replay: WorkflowHandle<typeof replayWorkflow>,
  consumer: WorkflowHandle<typeof consumerWorkflow>,
  input: ReplayInput,
  rows: number,
) {
  expect((await replay.result()).sent).toBe(rows);
  const after = new Date().toISOString();
  await waitForProgress(
    consumer,
    (p) => p.partitions.length === input.partitions && p.partitions.every((q) => q.reportedAt > after) && p.lag === 0,
    180_000,
  );
  await consumer.signal(stopConsumerSignal);
  await consumer.result();
  const s3 = createS3Client(config, 'admin');
  try {
    expectExactlyOnce(await readLake(s3, config.s3.bucket, `${config.s3.rawPrefix}${input.topic}/`), input.runId, rows);
  } finally {
    s3.destroy();
  }
}

/** The process (pid) whose worker runs a member activity now, from the server's view. */
async function memberWorkerPids(handle: WorkflowHandle<typeof consumerWorkflow>): Promise<number[]> {
  const description = await handle.describe();
  return (description.raw.pendingActivities ?? [])
    .filter((activity) => activity.state?.toString() === 'PENDING_ACTIVITY_STATE_STARTED' || activity.state === 2)
    .map((activity) => Number(activity.lastWorkerIdentity?.split('@')[0]));
}

test('kill -9 of the consumer worker at random moments: every record is in raw/ exactly once', async () => {
  const p = pipeline();
  await p.startProducer();
  await p.startConsumerWorker();
  const rows = 15_000;
  const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 1000 }, batchRows: 250 });
  const replay = await p.replay(input);
  await sleep(1000);
  const consumer = await p.consume(
    consumerInputFor(input.topic, { flush: { maxRecords: 300, maxBytes: 8 << 20, maxAgeMs: 700 } }),
  );
  for (let kill = 0; kill < 3; kill++) {
    await sleep(1500 + Math.random() * 2500);
    await workers.at(-1)?.stop('SIGKILL');
    await p.startConsumerWorker();
  }
  await expectAllOnceInS3(p.config, replay, consumer, input, rows);
});

test('the broker stops mid-stream and a worker is killed after its S3 writes, before its commits', async () => {
  await withOwnService('kafka', async (stackEnv) => {
    const p = pipeline(stackEnv);
    await p.startProducer();
    await p.startConsumerWorker();
    // 20 s of stream: still flowing when the broker stops, however slowly the consumer started.
    const rows = 16_000;
    const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 800 }, batchRows: 200 });
    const replay = await p.replay(input);
    const consumerInput = consumerInputFor(input.topic, {
      flush: { maxRecords: 100_000, maxBytes: 8 << 20, maxAgeMs: 1000 },
    });
    const consumer = await p.consume(consumerInput);
    await waitForProgress(consumer, (progress) => progress.totals.records > 0);
    await sleep(1500);

    // With the broker gone, what the member holds still reaches S3, but no commit can follow. (It holds records
    // only while the stream flows.)
    expect((await replay.describe()).status.name).toBe('RUNNING');
    expect((await runScript('stack', ['down', 'kafka'], stackEnv)).code).toBe(0);
    await sleep(5000);
    await workers.at(-1)?.stop('SIGKILL');
    expect((await runScript('stack', ['up', 'kafka'], stackEnv)).code).toBe(0);

    // S3 holds segments beyond the group's committed offsets: written, never committed.
    const admin = testKafka(p.config).admin();
    await admin.connect();
    let offsets: GroupOffset[] | undefined;
    // The restarted broker answers "coordinator loading" for a moment.
    for (let attempt = 0; !offsets; attempt++) {
      try {
        offsets = await admin.fetchGroupOffsets(consumerInput.groupId, input.topic);
      } catch (error) {
        if (attempt >= 60) throw error;
        await sleep(500);
      }
    }
    await admin.disconnect();
    const s3 = createS3Client(p.config, 'admin');
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: p.config.s3.bucket, Prefix: `${p.config.s3.manifestPrefix}${input.topic}/` }),
    );
    s3.destroy();
    const uncommitted = (listed.Contents ?? []).filter(({ Key }) => {
      const [, partition, start] = /\/(\d+)\/(\d+)\.json$/.exec(Key ?? '') ?? [];
      const committed = offsets?.find((entry) => entry.partition === Number(partition))?.offset ?? '-1';
      return partition !== undefined && Number(start) >= Math.max(0, Number(committed));
    });
    expect(uncommitted.length).toBeGreaterThan(0);

    await p.startConsumerWorker();
    await expectAllOnceInS3(p.config, replay, consumer, input, rows);
  });
});

kafkajsOnly(
  'the S3 server stops for 30 s: the member keeps its partitions, holds bounded memory and resumes',
  async () => {
    await withOwnService('s3', async (stackEnv) => {
      const p = pipeline(stackEnv);
      await p.startProducer();
      await p.startConsumerWorker();
      const rows = 12_000;
      const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 300 }, batchRows: 100 });
      const replay = await p.replay(input);
      const maxBufferedBytes = 128 << 10;
      const consumer = await p.consume(
        consumerInputFor(input.topic, {
          flush: { maxRecords: 500, maxBytes: 8 << 20, maxAgeMs: 1000 },
          maxBufferedBytes,
        }),
      );
      await waitForProgress(consumer, (progress) => progress.totals.records > 0);
      const attempt = async () => (await consumer.describe()).raw.pendingActivities?.[0]?.attempt;
      const attemptBefore = await attempt();
      expect((await runScript('stack', ['down', 's3'], stackEnv)).code).toBe(0);
      const outageEnds = Date.now() + 30_000;
      let maxBuffered = 0;
      let lastError: string | undefined;
      while (Date.now() < outageEnds) {
        const progress = await consumer.query(consumerProgressQuery);
        maxBuffered = Math.max(maxBuffered, progress.buffered);
        lastError = progress.lastError ?? lastError;
        await sleep(1000);
      }
      const during = await consumer.query(consumerProgressQuery);
      expect(lastError).toMatch(/PutObject/);
      // Fetching paused: the backlog stays in Kafka (lag), not in memory. A record is ~250 bytes.
      expect(maxBuffered * 200).toBeLessThan(maxBufferedBytes + (4 << 20));
      expect(during.lag).toBeGreaterThan(during.buffered);
      // The same member attempt, still in the group: no restart, no rebalance.
      expect(await attempt()).toBe(attemptBefore);
      const admin = testKafka(p.config).admin();
      await admin.connect();
      const group = await admin.describeGroup(`${input.topic}.lake`);
      await admin.disconnect();
      expect(group.state).toBe('Stable');
      expect(group.members).toBe(1);

      expect((await runScript('stack', ['up', 's3'], stackEnv)).code).toBe(0);
      await expectAllOnceInS3(p.config, replay, consumer, input, rows);
    });
  },
);

test('a second worker joins and takes half the partitions; then one worker is killed and the other takes them all', async () => {
  const p = pipeline();
  await p.startProducer();
  const first = await p.startConsumerWorker();
  const rows = 15_000;
  const input = replayInputFor(largeCsv(rows), {
    pacing: { kind: 'rate', rowsPerSecond: 800 },
    batchRows: 200,
    partitions: 4,
  });
  const replay = await p.replay(input);
  await sleep(500);
  // Two members, one worker: the second member waits for a worker of its own.
  const consumer = await p.consume(
    consumerInputFor(input.topic, { members: 2, flush: { maxRecords: 300, maxBytes: 8 << 20, maxAgeMs: 700 } }),
  );
  await waitForProgress(consumer, (progress) => progress.totals.records > 1000);
  expect(new Set(await memberWorkerPids(consumer))).toEqual(new Set([first.child.pid]));
  const second = await p.startConsumerWorker();
  // The group rebalances: both members own partitions.
  await waitForProgress(consumer, (progress) => new Set(progress.partitions.map((q) => q.member)).size === 2, 90_000);
  expect(new Set(await memberWorkerPids(consumer))).toEqual(new Set([first.child.pid, second.child.pid]));
  await sleep(1000 + Math.random() * 1000);
  await second.stop('SIGKILL');
  await expectAllOnceInS3(p.config, replay, consumer, input, rows);
});

test('a member attempt that outlives its timeout (worker frozen) does not duplicate what its successor writes', async () => {
  const p = pipeline();
  await p.startProducer();
  const first = await p.startConsumerWorker();
  const second = await p.startConsumerWorker();
  const rows = 12_000;
  const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 600 }, batchRows: 200 });
  const replay = await p.replay(input);
  const consumer = await p.consume(
    consumerInputFor(input.topic, { flush: { maxRecords: 400, maxBytes: 8 << 20, maxAgeMs: 1500 } }),
  );
  await waitForProgress(consumer, (progress) => progress.totals.records > 0);
  await sleep(Math.random() * 1500);
  const [pid] = await memberWorkerPids(consumer);
  const frozen = pid === first.child.pid ? first : second;
  // Past the 15 s heartbeat timeout and the 10 s Kafka session, the server starts a new attempt elsewhere.
  frozen.child.kill('SIGSTOP');
  // The server may hand a retry to the frozen worker's pending poll first; that one times out too.
  const deadline = Date.now() + 150_000;
  let successor: number | undefined;
  while (Date.now() < deadline) {
    await sleep(2000);
    [successor] = await memberWorkerPids(consumer);
    if (successor !== undefined && successor !== frozen.child.pid) break;
  }
  expect(successor).toBe((frozen === first ? second : first).child.pid);
  // The stale attempt wakes up with records in hand and writes what it can.
  frozen.child.kill('SIGCONT');
  await expectAllOnceInS3(p.config, replay, consumer, input, rows);
});
