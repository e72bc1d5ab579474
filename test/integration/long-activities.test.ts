import { Context } from '@temporalio/activity';
import { CancelledFailure, noopMetricMeter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createIngestActivities, type IngestActivities } from '../../activities';
import { createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { createKafka } from '../../lib/kafka';
import { createLogger } from '../../lib/logger';
import { createMetrics } from '../../lib/metrics';
import {
  type ConsumerProgress,
  type MemberReport,
  memberReportUpdate,
  type PartitionStatus,
  type ReplayInput,
  type ReplayMarker,
} from '../../lib/contracts';
import { consumerWorkflow } from '../../workflows/consumer';
import { readTopic } from '../helpers/kafka';
import { consumerInputFor, expectExactlyOnce, readLake } from '../helpers/lake';
import { largeCsv, replayInputFor } from '../helpers/replay';
import { uniqueName } from '../helpers/workers';
import { eventually, openWorkflowEnv, withWorker, type WorkflowEnv } from '../helpers/workflow-env';

/**
 * The long activities in isolation (MockActivityEnvironment), on the stack's real Kafka, S3 and Temporal:
 * what their heartbeats carry (the workflow and scripts read it) and where a cancellation leaves them.
 */

const config = loadConfig();
const s3 = createS3Client(config, 'ingest');
/** Reads the lake back (the ingest role writes, it does not list). */
const lake = createS3Client(config, 'admin');
let env: WorkflowEnv;
let activities: IngestActivities;

beforeAll(async () => {
  env = await openWorkflowEnv();
  activities = createIngestActivities({
    kafka: createKafka(config, createLogger('long-activities-test', 'silent')),
    topic: config.kafka.topic,
    groupPrefix: config.kafka.clientId,
    s3,
    bucket: config.s3.bucket,
    inputS3: createS3Client(config, 'producer'),
    inputPrefix: config.s3.inputPrefix,
    rawPrefix: config.s3.rawPrefix,
    dlqPrefix: config.s3.dlqPrefix,
    manifestPrefix: config.s3.manifestPrefix,
    temporal: env.client,
    metrics: createMetrics(noopMetricMeter, 'long-activities-test'),
  });
});
afterAll(async () => {
  s3.destroy();
  lake.destroy();
  await env?.close();
});

/**
 * An activity environment that records the heartbeats' details as they were when sent. It keeps the objects
 * sent too: the worker may encode a heartbeat's details later (while the one before is still being sent), so
 * an activity must not change them afterwards; `unchanged()` says whether it did.
 */
function recording() {
  const heartbeats: unknown[] = [];
  const sent: unknown[] = [];
  const activityEnv = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 }, { client: env.client });
  activityEnv.on('heartbeat', (details: unknown) => {
    heartbeats.push(structuredClone(details));
    sent.push(details);
  });
  return { activityEnv, heartbeats, unchanged: () => expect(sent).toEqual(heartbeats) };
}

/** Runs an activity once in a fresh environment, typed by the activity's own signature. */
const runActivity = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run<A, R, typeof fn>(fn, ...args);

const ZERO: ReplayMarker = { rowsRead: 0, sent: 0, rejected: 0, byteOffset: 0, pass: 0, passRow: 0 };

/** Prepares a replay and sends its first `rows` rows, unpaced, in one chunk. */
async function replayed(rows: number, overrides: Partial<ReplayInput> = {}) {
  const input = replayInputFor(largeCsv(rows), overrides);
  const plan = await runActivity(activities.prepareReplay, input);
  return { input, plan, chunk: { input, plan, committed: { ...ZERO, byteOffset: plan.dataOffset } } };
}

test('replayChunk heartbeats the marker of each commit, and a cancellation stops it at its last commit', async () => {
  // Paced: a commit about every 100 ms, so the chunk is still sending when it is cancelled.
  const { input, chunk } = await replayed(3000, { pacing: { kind: 'rate', rowsPerSecond: 400 }, chunkSeconds: 60 });
  const { activityEnv, heartbeats, unchanged } = recording();
  const markers = () => heartbeats.filter((details): details is ReplayMarker => typeof details === 'object');
  const running = activityEnv.run(activities.replayChunk, chunk);
  running.catch(() => undefined);
  await eventually(
    async () => markers().filter((marker) => marker.sent > 0).length,
    (count) => count >= 3,
    { what: 'three commits' },
  );
  activityEnv.cancel();
  await expect(running).rejects.toBeInstanceOf(CancelledFailure);

  // Each heartbeat carries a whole marker (scripts/replay.ts shows rowsRead, sent, rejected from it); never backwards.
  const seen = markers();
  for (const marker of seen) expect(Object.keys(marker).sort()).toEqual(Object.keys(ZERO).sort());
  const sentSeen = seen.map((marker) => marker.sent);
  expect(sentSeen).toEqual([...sentSeen].sort((a, b) => a - b));
  unchanged();
  const last = seen.at(-1)!;
  expect(last.sent).toBeLessThan(3000);

  // The run's committed marker is the last heartbeat's, and the topic holds exactly those rows.
  const marker = await runActivity(activities.replayMarker, { ...chunk, committed: last });
  expect(marker).toEqual(last);
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, last.sent, {
    settleMs: 1000,
  });
  expect(messages.map(({ value }) => value.seq).sort((a, b) => Number(a) - Number(b))).toEqual(
    Array.from({ length: last.sent }, (_, index) => index + 1),
  );
});

test('a cancelled replayChunk that has not started sending commits nothing', async () => {
  const { chunk } = await replayed(100);
  const { activityEnv } = recording();
  activityEnv.cancel();
  await expect(activityEnv.run(activities.replayChunk, chunk)).rejects.toBeInstanceOf(CancelledFailure);
  expect(await runActivity(activities.replayMarker, chunk)).toMatchObject({ rowsRead: 0 });
});

test('consumeAndFlush heartbeats its partitions; cancelled, it writes what it holds and commits before it ends', async () => {
  const rows = 500;
  const { input: replay, chunk } = await replayed(rows);
  expect((await runActivity(activities.replayChunk, chunk)).marker.sent).toBe(rows);
  // Nothing is due before the cancellation: every record is still held when it comes.
  const consumer = consumerInputFor(replay.topic, {
    flush: { maxRecords: 1_000_000, maxBytes: 1 << 30, maxAgeMs: 600_000 },
  });
  const { activityEnv, heartbeats, unchanged } = recording();
  type MemberHeartbeat = { member: number; partitions: PartitionStatus[] };
  const held = (details: unknown) =>
    (details as MemberHeartbeat | undefined)?.partitions?.reduce((sum, partition) => sum + partition.buffered, 0);
  const running = activityEnv.run(activities.consumeAndFlush, {
    // No workflow runs under this id: the member's reports are not delivered, and it goes on regardless.
    workflowId: uniqueName('no-consumer'),
    member: 1,
    consumer,
  });
  let ended: unknown;
  try {
    const holding = (await eventually(
      async () => heartbeats.at(-1),
      (details) => held(details) === rows,
      { what: 'every record held', timeoutMs: 60_000 },
    )) as MemberHeartbeat;
    expect(holding.member).toBe(1);
    // Lag counts what is not in S3 yet: here, everything held.
    expect(holding.partitions.map(({ partition, lag, buffered }) => [partition, lag - buffered])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(await readLake(lake, config.s3.bucket, `${config.s3.rawPrefix}${replay.topic}/`)).toEqual([]);
  } finally {
    activityEnv.cancel();
    ended = await running.then(
      () => 'completed',
      (error: unknown) => error,
    );
  }
  expect(ended).toBeInstanceOf(CancelledFailure);
  unchanged();
  // Written once each, and the group's offsets committed past them: the next member starts after them.
  expectExactlyOnce(
    await readLake(lake, config.s3.bucket, `${config.s3.rawPrefix}${replay.topic}/`),
    replay.runId,
    rows,
  );
  // The group's offsets stand just past each partition's last record (control records aside).
  const next = new Map<number, number>();
  for (const { partition, offset } of await readTopic(config, replay.topic, () => true, rows)) {
    next.set(partition, Math.max(next.get(partition) ?? 0, Number(offset) + 1));
  }
  const admin = createKafka(config, createLogger('long-activities-test', 'silent')).admin();
  await admin.connect();
  try {
    const committed = await admin.fetchGroupOffsets(consumer.groupId, replay.topic);
    expect(Object.fromEntries(committed.map(({ partition, offset }) => [partition, Number(offset)]))).toEqual(
      Object.fromEntries(next),
    );
  } finally {
    await admin.disconnect();
  }
});

test('waitForConsumerFlushed heartbeats the lag it waits on, and a cancellation ends the wait', async () => {
  // A consumer workflow whose (mock) member reports one partition 7 records behind.
  const report: MemberReport = {
    member: 1,
    partitions: [
      {
        partition: 0,
        committed: 3,
        highWatermark: 10,
        lag: 7,
        buffered: 2,
        member: 1,
        reportedAt: new Date().toISOString(),
      },
    ],
    delta: { records: 3, deadLetters: 0, objects: 1, bytes: 30, segments: 1 },
  };
  const member: Pick<IngestActivities, 'consumeAndFlush'> = {
    async consumeAndFlush({ workflowId }) {
      await env.client.workflow.getHandle(workflowId).executeUpdate(memberReportUpdate, { args: [report] });
      for (;;) {
        Context.current().heartbeat();
        await Context.current().sleep(100);
      }
    },
  };
  await withWorker(env, member, async (taskQueue) => {
    const workflowId = uniqueName('consumer');
    const handle = await env.client.workflow.start(consumerWorkflow, {
      taskQueue,
      workflowId,
      args: [consumerInputFor(uniqueName('ticks'))],
    });
    try {
      await eventually(
        () => activities.consumerProgress(workflowId),
        (progress: ConsumerProgress) => progress.lag === 7,
        { what: 'the member report' },
      );
      const { activityEnv, heartbeats } = recording();
      const waiting = activityEnv.run(activities.waitForConsumerFlushed, {
        workflowId,
        targets: [{ partition: 0, endOffset: 10 }],
      });
      waiting.catch(() => undefined);
      await eventually(
        async () => heartbeats.length,
        (count) => count >= 2,
        { what: 'two heartbeats' },
      );
      expect(heartbeats).toContainEqual({ lag: 7, buffered: 2 });
      activityEnv.cancel();
      await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    } finally {
      await handle.terminate('test over');
    }
  });
});
