import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { hourPartition } from '../../lib/hour-keys';
import { connectClient } from '../../lib/temporal';
import { consumerWorkflow, replayWorkflow } from '../../workflows';
import {
  consumerProgressQuery,
  flushNowSignal,
  pauseConsumerSignal,
  resumeConsumerSignal,
  stopConsumerSignal,
} from '../../lib/contracts';
import { testKafka } from '../helpers/kafka';
import { consumerInputFor, expectExactlyOnce, readLake, waitForProgress } from '../helpers/lake';
import { largeCsv, replayInputFor } from '../helpers/replay';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

const env = { TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-consume') };
const config = loadConfig({ ...process.env, ...env });
const s3 = createS3Client(config, 'admin');
const { bucket, rawPrefix, dlqPrefix, manifestPrefix } = config.s3;
let client: Client;
let worker: WorkerProcess;
const consumers: WorkflowHandle<typeof consumerWorkflow>[] = [];

beforeAll(async () => {
  client = await connectClient(config);
  worker = await startWorkerProcess('ingest', env);
});

afterAll(async () => {
  // A consumer that a failed test left running would run (and retry) for a day.
  await Promise.all(consumers.map((handle) => handle.terminate('test over').catch(() => undefined)));
  await worker?.stop();
  await client?.connection.close();
  s3.destroy();
});

async function startConsumer(input: ReturnType<typeof consumerInputFor>) {
  const handle = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('consumer'),
    taskQueue: config.temporal.ingestTaskQueue,
    args: [input],
  });
  consumers.push(handle);
  return handle;
}

test('replayed rows land under raw/ exactly once, partitioned by their ts, as gzip JSON Lines', async () => {
  const rows = 5000;
  const replay = replayInputFor(largeCsv(rows));
  const replayed = await client.workflow.execute(replayWorkflow, {
    workflowId: `replay-${replay.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [replay],
  });
  expect(replayed.sent).toBe(rows);

  const input = consumerInputFor(replay.topic, { flush: { maxRecords: 700, maxBytes: 8 << 20, maxAgeMs: 1000 } });
  const handle = await startConsumer(input);
  const progress = await waitForProgress(handle, (p) => p.totals.records === rows && p.lag === 0);
  expect(progress.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
  expect(progress.totals.deadLetters).toBe(0);
  expect(progress.buffered).toBe(0);
  await handle.signal(stopConsumerSignal);
  const result = await handle.result();
  expect(result.totals.records).toBe(rows);

  const objects = await readLake(s3, bucket, `${rawPrefix}${replay.topic}/`);
  expectExactlyOnce(objects, replay.runId, rows);
  // Segments end at 700 records: several objects per partition.
  expect(objects.length).toBeGreaterThanOrEqual(Math.ceil(rows / 700));
  for (const object of objects) {
    const match = new RegExp(
      `^${rawPrefix}${replay.topic}/(dt=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2})/${replay.topic}\\+(\\d)\\+(\\d+)\\.jsonl\\.gz$`,
    ).exec(object.key);
    expect(match).not.toBeNull();
    const [, hour, , startOffset] = match as unknown as string[];
    for (const line of object.lines) expect(hourPartition(Date.parse(line.ts as string))).toBe(hour);
    expect(object.metadata).toMatchObject({ 'start-offset': startOffset, records: String(object.lines.length) });
    expect(Number(object.metadata['end-offset'])).toBeGreaterThanOrEqual(Number(startOffset));
    // The message as produced: typed values, envelope.
    expect(object.lines[0]).toMatchObject({
      run_id: replay.runId,
      index: expect.any(String),
      close: expect.any(Number),
    });
  }
  expect(await readLake(s3, bucket, `${dlqPrefix}${replay.topic}/`)).toEqual([]);
  // Every segment has its manifest.
  await s3.send(
    new HeadObjectCommand({ Bucket: bucket, Key: `${manifestPrefix}${replay.topic}/0/${'0'.padStart(20, '0')}.json` }),
  );
});

test('poison messages go to dlq/ with their reasons; every valid record reaches raw/', async () => {
  const topic = uniqueName('poison');
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics([
    { topic, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: String(8 << 20) }] },
  ]);
  await admin.disconnect();
  const runId = uniqueName('run');
  const valid = (seq: number) => ({
    value: JSON.stringify({ symbol: 'HSI', price: 1.5, ts: new Date().toISOString(), run_id: runId, seq }),
  });
  const poison: { value: Buffer | string | null; reason: RegExp }[] = [
    { value: '{"symbol": "HSI", "price": ', reason: /^not JSON/ },
    { value: '[1, 2, 3]', reason: /expected a JSON object, got an array/ },
    { value: '"just a string"', reason: /expected a JSON object, got string/ },
    { value: JSON.stringify({ symbol: 'HSI', run_id: runId, seq: 1 }), reason: /missing envelope field ts/ },
    {
      value: JSON.stringify({ ts: 'yesterday', run_id: runId, seq: 1 }),
      reason: /envelope field ts: expected an ISO-8601/,
    },
    { value: JSON.stringify({ ts: new Date().toISOString(), run_id: runId, seq: 1.5 }), reason: /envelope field seq/ },
    { value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), reason: /not valid UTF-8/ },
    {
      value: JSON.stringify({ ts: new Date().toISOString(), run_id: runId, seq: 2, blob: 'x'.repeat(5 << 20) }),
      reason: /bytes exceeds/,
    },
    { value: null, reason: /empty value/ },
  ];
  const producer = kafka.producer();
  await producer.connect();
  let seq = 0;
  const messages = [];
  for (const bad of poison) {
    for (let i = 0; i < 50; i++) messages.push({ key: 'HSI', ...valid(++seq) });
    messages.push({ key: 'HSI', value: bad.value });
  }
  for (let i = 0; i < 50; i++) messages.push({ key: 'HSI', ...valid(++seq) });
  // One at a time: the 5 MB record needs a request of its own.
  for (const message of messages) await producer.send({ topic, messages: [message] });
  await producer.disconnect();

  const handle = await startConsumer(consumerInputFor(topic));
  const progress = await waitForProgress(
    handle,
    (p) => p.totals.records === seq && p.totals.deadLetters === poison.length && p.lag === 0,
  );
  expect(progress.status).toBe('running');
  await handle.signal(stopConsumerSignal);
  await handle.result();

  expectExactlyOnce(await readLake(s3, bucket, `${rawPrefix}${topic}/`), runId, seq);
  const dead = (await readLake(s3, bucket, `${dlqPrefix}${topic}/`)).flatMap((object) => object.lines);
  expect(dead).toHaveLength(poison.length);
  for (const letter of dead) {
    expect(letter).toMatchObject({
      topic,
      partition: expect.any(Number),
      offset: expect.any(Number),
      reason: expect.any(String),
    });
  }
  for (const bad of poison) expect(dead.filter((letter) => bad.reason.test(letter.reason as string))).toHaveLength(1);
  const binary = dead.find((letter) => /UTF-8/.test(letter.reason as string));
  expect(binary?.value_base64).toBe(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'));
  const big = dead.find((letter) => /exceeds/.test(letter.reason as string));
  expect((big?.value as string).length).toBeGreaterThan(5 << 20);
});

/** A new topic and its consumer, which writes only on flush-now, pause and stop (count and age never fire). */
async function startFlushOnlyConsumer(name: string, partitions: number) {
  const topic = uniqueName(name);
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: partitions }]);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const handle = await startConsumer(
    consumerInputFor(topic, { flush: { maxRecords: 1_000_000, maxBytes: 64 << 20, maxAgeMs: 3_600_000 } }),
  );
  return { topic, producer, handle };
}

test('pause stops fetching, resume and flush-now bring the data, stop ends the run', async () => {
  const { topic, producer, handle } = await startFlushOnlyConsumer('controls', 1);
  const runId = uniqueName('run');
  let seq = 0;
  const send = async (count: number) => {
    const messages = Array.from({ length: count }, () => ({
      key: 'SPX',
      value: JSON.stringify({ symbol: 'SPX', ts: new Date().toISOString(), run_id: runId, seq: ++seq }),
    }));
    await producer.send({ topic, messages });
  };
  await send(100);
  await waitForProgress(handle, (p) => p.buffered === 100);
  await handle.signal(flushNowSignal);
  await waitForProgress(handle, (p) => p.totals.records === 100 && p.buffered === 0);

  await handle.signal(pauseConsumerSignal);
  await waitForProgress(handle, (p) => p.status === 'paused');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await send(50);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const paused = await handle.query(consumerProgressQuery);
  expect(paused.totals.records).toBe(100);
  expect(paused.buffered).toBe(0);
  expect(paused.lag).toBe(50);

  await handle.signal(resumeConsumerSignal);
  await waitForProgress(handle, (p) => p.status === 'running' && p.buffered === 50);
  await handle.signal(stopConsumerSignal);
  const result = await handle.result();
  expect(result.totals.records).toBe(150);
  await producer.disconnect();
  expectExactlyOnce(await readLake(s3, bucket, `${rawPrefix}${topic}/`), runId, 150);
});

test('flush-now under steady traffic writes what was buffered at the request, then waits for the next trigger', async () => {
  const { topic, producer, handle } = await startFlushOnlyConsumer('flush-traffic', 3);
  const runId = uniqueName('run');
  let seq = 0;
  let sending = true;
  const traffic = (async () => {
    while (sending) {
      const messages = Array.from({ length: 200 }, () => {
        seq += 1;
        const symbol = `S${seq % 7}`;
        return { key: symbol, value: JSON.stringify({ symbol, ts: new Date().toISOString(), run_id: runId, seq }) };
      });
      await producer.send({ topic, messages });
    }
  })();
  const objectCount = async () =>
    (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${rawPrefix}${topic}/` }))).KeyCount ?? 0;
  try {
    // Reported buffers only grow until the flush: it writes at least what this report counts.
    const before = await waitForProgress(handle, (p) => p.buffered >= 500);
    await handle.signal(flushNowSignal);
    const flushed = await waitForProgress(handle, (p) => p.totals.records >= before.buffered);
    // The flush ended: records keep arriving, and no trigger is due for an hour, so nothing more is written.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const settled = await objectCount();
    expect(settled).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await objectCount()).toBe(settled);
    const later = await handle.query(consumerProgressQuery);
    expect(later.totals.records).toBeLessThan(seq);
    expect(later.buffered).toBeGreaterThan(0);
    expect(flushed.totals.deadLetters).toBe(0);
  } finally {
    sending = false;
    await traffic;
    await producer.disconnect();
  }
  await handle.signal(stopConsumerSignal);
  const result = await handle.result();
  expect(result.totals.records).toBe(seq);
  expectExactlyOnce(await readLake(s3, bucket, `${rawPrefix}${topic}/`), runId, seq);
});

test('npm run consume starts, reports and stops the consumer; bad flags exit 2', async () => {
  const topic = uniqueName('script');
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: 1 }]);
  await admin.disconnect();
  const started = await runScript('consume', ['--topic', topic, '--detach'], env);
  expect(started.code).toBe(0);
  expect(started.stdout).toMatch(new RegExp(`consumer started: ${topic}`));
  expect(started.stdout).toContain(`Workflow: ${config.temporal.uiUrl}/namespaces/default/workflows/consumer-`);
  const again = await runScript('consume', ['--topic', topic, '--detach'], env);
  expect(again.stdout).toMatch(/already running .*: attaching/);
  const status = await runScript('consume', ['status', '--topic', topic, '--json'], env);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ topic, status: 'running', members: 1 });
  const table = await runScript('consume', ['status', '--topic', topic], env);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(new RegExp(`│ topic +│ ${topic} \\(group `));
  expect(table.stdout).toMatch(/│ status +│ running, 1 member +│/);
  expect(table.stdout).toMatch(/│ partition │ committed │ end offset │ lag │ buffered │ member │ last flush │/);
  const stopped = await runScript('consume', ['stop', '--topic', topic], env);
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toMatch(/stopped: 0 records/);
  const stopAgain = await runScript('consume', ['stop', '--topic', topic], env);
  expect(stopAgain.code).toBe(1);
  expect(stopAgain.stderr).toMatch(/no consumer is running/);
  const bad = await runScript('consume', ['--members', '0'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--members must be a whole number above 0/);
  const help = await runScript('consume', ['--help'], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--max-age-seconds/);
});

test('the run continues as new when its history fills, without losing or repeating a record', async () => {
  const rows = 6000;
  const replay = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 300 }, batchRows: 100 });
  const replaying = await client.workflow.start(replayWorkflow, {
    workflowId: `replay-${replay.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [replay],
  });
  // ~5 events a report, a report a second: a new run every few seconds.
  const started = await startConsumer(consumerInputFor(replay.topic, { maxHistoryEvents: 40 }));
  const handle = client.workflow.getHandle<typeof consumerWorkflow>(started.workflowId); // the newest run
  expect((await replaying.result()).sent).toBe(rows);
  const after = new Date().toISOString();
  const progress = await waitForProgress(
    handle,
    (p) => p.partitions.length === 3 && p.partitions.every((q) => q.reportedAt > after) && p.lag === 0,
  );
  expect(progress.runs).toBeGreaterThanOrEqual(3);
  await handle.signal(stopConsumerSignal);
  expect((await handle.result()).totals.records).toBe(rows);
  expectExactlyOnce(await readLake(s3, bucket, `${rawPrefix}${replay.topic}/`), replay.runId, rows);
});
