import fs from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/clients';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '../../lib/config';
import { ErrorType } from '../../lib/errors';
import { connectClient } from '../../lib/temporal';
import {
  pauseReplaySignal,
  type ReplayInput,
  type ReplayMarker,
  type ReplayProgress,
  replayProgressQuery,
  resumeReplaySignal,
  setReplayRateSignal,
} from '../../lib/contracts';
import { replayWorkflow } from '../../workflows';
import { readTopic, testKafka } from '../helpers/kafka';
import { largeCsv, replayInputFor, SAMPLE_CSV, writeTempCsv } from '../helpers/replay';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

const env = { TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-replay') };
const config = loadConfig({ ...process.env, ...env });
// jest's confluent project runs this file again with TICKSYNC_KAFKA_CLIENT=confluent (jest.config.js): the tests of
// what the Kafka client carries (exactly once, transactions, topics, rejects). Pacing, the S3 source and the script
// are the same on either client and run on kafkajs only, for CI's time.
const kafkajsOnly = process.env.TICKSYNC_KAFKA_CLIENT === 'confluent' ? test.skip : test;
let worker: WorkerProcess;
let client: Client;

beforeAll(async () => {
  worker = await startWorkerProcess('ingest', env);
  client = await connectClient(config);
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.stop();
});

const start = (input: ReplayInput) =>
  client.workflow.start(replayWorkflow, {
    workflowId: `replay-${input.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [input],
  });

const sampleRows = fs.readFileSync(SAMPLE_CSV, 'utf8').trim().split('\n').slice(1);

test('an ordered replay lands every row of the sample exactly once, keyed by symbol, typed, with the envelope', async () => {
  const input = replayInputFor(SAMPLE_CSV);
  const handle = await start(input);
  const result = await handle.result();
  expect(result).toEqual({
    runId: input.runId,
    topic: input.topic,
    rowsRead: sampleRows.length,
    sent: sampleRows.length,
    rejected: 0,
  });
  expect(await handle.query(replayProgressQuery)).toMatchObject({
    status: 'completed',
    fraction: 1,
    sent: sampleRows.length,
  });

  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, sampleRows.length);
  expect(messages).toHaveLength(sampleRows.length);
  const seqs = messages.map((message) => message.value.seq as number).sort((a, b) => a - b);
  expect(seqs).toEqual(sampleRows.map((_, index) => index + 1));

  for (const message of messages) {
    const row = (sampleRows[(message.value.seq as number) - 1] as string).split(',');
    expect(message.key).toBe(row[0]);
    expect(message.value).toEqual({
      index: row[0],
      date: row[1],
      open: Number(row[2]),
      high: Number(row[3]),
      low: Number(row[4]),
      close: Number(row[5]),
      adj_close: Number(row[6]),
      volume: Number(row[7]),
      close_usd: Number(row[8]),
      ts: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      run_id: input.runId,
      seq: message.value.seq,
    });
  }
  // Keyed by symbol: each symbol lives in one partition, in file order.
  const partitionsBySymbol = new Map<string, Set<number>>();
  for (const message of messages) {
    const set = partitionsBySymbol.get(message.key as string) ?? new Set();
    set.add(message.partition);
    partitionsBySymbol.set(message.key as string, set);
  }
  for (const partitions of partitionsBySymbol.values()) expect(partitions.size).toBe(1);
  expect(new Set(messages.map((message) => message.partition)).size).toBeGreaterThan(1);
});

test('an existing topic is used as it is; a new one gets the asked partitions', async () => {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    const existing = replayInputFor(SAMPLE_CSV, { partitions: 6, limit: 10 });
    await admin.createTopics([{ topic: existing.topic, numPartitions: 2 }]);
    await (await start(existing)).result();
    const created = replayInputFor(SAMPLE_CSV, { partitions: 5, limit: 10 });
    await (await start(created)).result();
    const partitions = await admin.topicPartitions([existing.topic, created.topic]);
    expect(partitions).toEqual({ [existing.topic]: 2, [created.topic]: 5 });
  } finally {
    await admin.disconnect();
  }
});

test("wide rows of one symbol into one partition: transactions past the broker's 1 MiB batch limit land whole, once", async () => {
  // 2,000 rows of ~2 KB, one key, one partition: a transaction holds up to 10,000 rows or 100 ms of them, several
  // MiB, which kafkajs sent as one record batch the broker refused (MESSAGE_TOO_LARGE), retried forever.
  const rows = 2000;
  const note = 'x'.repeat(2000);
  const lines = ['symbol,date,price,note'];
  for (let i = 0; i < rows; i++)
    lines.push(`WIDE,${new Date(Date.UTC(2020, 0, 1) + i * 1000).toISOString()},${i},${note}`);
  const input = replayInputFor(writeTempCsv('wide.csv', `${lines.join('\n')}\n`), { partitions: 1 });
  const result = await (await start(input)).result();
  expect(result).toMatchObject({ rowsRead: rows, sent: rows, rejected: 0 });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, rows);
  expect(messages.map((message) => message.value.seq as number).sort((a, b) => a - b)).toEqual(
    Array.from({ length: rows }, (_, i) => i + 1),
  );
  expect(messages.every((message) => message.partition === 0 && message.value.note === note)).toBe(true);
});

test('starting a finished run id again resends nothing: progress lives in Kafka', async () => {
  const input = replayInputFor(SAMPLE_CSV);
  await (await start(input)).result();
  const again = await (await start(input)).result();
  expect(again).toMatchObject({ rowsRead: sampleRows.length, sent: sampleRows.length });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, sampleRows.length);
  expect(messages).toHaveLength(sampleRows.length);
});

kafkajsOnly('sample mode sends random rows with replacement at about the asked rate', async () => {
  const input = replayInputFor(SAMPLE_CSV, { mode: 'sample', pacing: { kind: 'rate', rowsPerSecond: 50 }, limit: 150 });
  const result = await (await start(input)).result();
  expect(result.sent).toBe(150);

  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, 150);
  expect(messages).toHaveLength(150);
  const times = messages.map((message) => Date.parse(message.value.ts as string)).sort((a, b) => a - b);
  const seconds = ((times.at(-1) as number) - (times[0] as number)) / 1000;
  // 150 rows at 50 rows/s span ~2.98 s.
  expect(seconds).toBeGreaterThan(2.4);
  expect(seconds).toBeLessThan(3.8);
  const keys = new Set(messages.map((message) => `${message.value.index},${message.value.date}`));
  expect(keys.size).toBeLessThan(150 + 1);
  for (const message of messages) {
    expect(sampleRows.some((row) => row.startsWith(`${message.value.index},${message.value.date},`))).toBe(true);
  }
});

kafkajsOnly('timestamp pacing follows the file clock times the speed factor', async () => {
  const lines = ['symbol,time,price'];
  for (let i = 0; i < 9; i++) lines.push(`S${i % 3},2024-01-02T10:00:0${i}.000Z,${100 + i}`);
  // 8 s of market time at speed 4 take ~2 s.
  const input = replayInputFor(writeTempCsv('timed.csv', `${lines.join('\n')}\n`), {
    pacing: { kind: 'timestamp', column: 'time', speed: 4 },
  });
  expect((await (await start(input)).result()).sent).toBe(9);
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, 9);
  const times = messages.map((message) => Date.parse(message.value.ts as string)).sort((a, b) => a - b);
  const seconds = ((times.at(-1) as number) - (times[0] as number)) / 1000;
  expect(seconds).toBeGreaterThan(1.6);
  expect(seconds).toBeLessThan(2.8);
});

kafkajsOnly('pacing holds across chunk boundaries: slow rates and long gaps in the file clock', async () => {
  // 0.5 rows/s with 1 s chunks: every gap spans a chunk boundary.
  const slow = replayInputFor(SAMPLE_CSV, { pacing: { kind: 'rate', rowsPerSecond: 0.5 }, chunkSeconds: 1, limit: 4 });
  const lines = ['symbol,time,price'];
  for (let i = 0; i < 4; i++) lines.push(`S${i},2024-01-02T10:00:${String(i * 4).padStart(2, '0')}.000Z,${100 + i}`);
  // 4 s gaps at speed 2 are 2 s apart, longer than the 1 s chunks.
  const timed = replayInputFor(writeTempCsv('gaps.csv', `${lines.join('\n')}\n`), {
    pacing: { kind: 'timestamp', column: 'time', speed: 2 },
    chunkSeconds: 1,
  });
  await Promise.all([(await start(slow)).result(), (await start(timed)).result()]);
  for (const input of [slow, timed]) {
    const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, 4);
    const times = messages.map((message) => Date.parse(message.value.ts as string)).sort((a, b) => a - b);
    const gaps = times.slice(1).map((time, index) => (time - (times[index] as number)) / 1000);
    expect(gaps).toHaveLength(3);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(1.6);
      expect(gap).toBeLessThan(2.6);
    }
  }
});

test('loop starts over at the end of the file until the limit; seq keeps counting', async () => {
  const limit = sampleRows.length + 500;
  const input = replayInputFor(SAMPLE_CSV, { loop: true, limit });
  expect(await (await start(input)).result()).toMatchObject({ rowsRead: limit, sent: limit });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, limit);
  const bySeq = new Map(messages.map((message) => [message.value.seq as number, message.value]));
  expect(bySeq.size).toBe(limit);
  const first = (sampleRows[0] as string).split(',');
  expect(bySeq.get(sampleRows.length + 1)).toMatchObject({ index: first[0], date: first[1], open: Number(first[2]) });
});

test('looping over a file with a header and no rows ends at once with nothing sent', async () => {
  const input = replayInputFor(writeTempCsv('header-only.csv', 'symbol,price\n'), { loop: true });
  expect(await (await start(input)).result()).toMatchObject({ rowsRead: 0, sent: 0, rejected: 0 });
});

kafkajsOnly('a CSV kept in S3 under the input prefix replays like a local one', async () => {
  const key = `${config.s3.inputPrefix}${uniqueName('test')}/sample.csv`;
  const s3 = createS3Client(config, 'admin');
  await s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: fs.readFileSync(SAMPLE_CSV) }));
  s3.destroy();
  // Small chunks make the replay resume from a byte offset (an S3 range read) many times.
  const input = replayInputFor(`s3://${config.s3.bucket}/${key}`, {
    batchRows: 200,
    chunkSeconds: 1,
    pacing: { kind: 'rate', rowsPerSecond: 1000 },
  });
  expect(await (await start(input)).result()).toMatchObject({ sent: sampleRows.length, rejected: 0 });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, sampleRows.length);
  expect(new Set(messages.map((message) => message.value.seq)).size).toBe(sampleRows.length);

  const outside = replayInputFor(`s3://${config.s3.bucket}/raw/elsewhere.csv`);
  await expect((await start(outside)).result()).rejects.toThrow(WorkflowFailedError);
  const missing = replayInputFor(`s3://${config.s3.bucket}/${config.s3.inputPrefix}missing.csv`);
  const error = await (await start(missing)).result().catch((caught: unknown) => caught);
  expect(((error as WorkflowFailedError).cause?.cause as Error).message).toContain('missing.csv: no such object');
});

test('a long run continues as new with its progress, and still sends every row once', async () => {
  const input = replayInputFor(SAMPLE_CSV, {
    chunkSeconds: 1,
    chunksPerRun: 2,
    pacing: { kind: 'rate', rowsPerSecond: 600 },
  });
  const handle = await start(input);
  expect(await handle.result()).toMatchObject({ sent: sampleRows.length });
  const description = await handle.describe();
  expect(description.runId).not.toBe(handle.firstExecutionRunId);
  expect(await handle.query(replayProgressQuery)).toMatchObject({ status: 'completed', sent: sampleRows.length });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, sampleRows.length);
  expect(messages).toHaveLength(sampleRows.length);
  expect(new Set(messages.map((message) => message.value.seq)).size).toBe(sampleRows.length);
});

test('malformed rows go to the reject topic with their reasons; every good row goes to the topic', async () => {
  const csv = [
    '\uFEFFSymbol,Date,Price,Size,Note',
    'AAPL,2024-01-02,185.5,100,plain',
    'MSFT,2024-01-02,370.1,200', // short
    'AAPL,2024-01-02,abc,100,bad price',
    ',2024-01-02,1.0,1,no symbol',
    'GOOG,2024-01-02,140.2,50,"quoted, with comma\nand newline"',
    'AAPL,2024-01-02,186.0,100,x,extra',
    'MSFT,2024-01-03,371.0,,empty size',
    'AAPL,2024-01-03,1e400,1,overflow',
    'AAPL,2024-01-03,1.0,12345678901234567891,inexact volume',
    'MSFT,2024-01-04,-0,2.5e3,negative zero and an exponent',
  ].join('\r\n');
  const input = replayInputFor(writeTempCsv('bad-rows.csv', `${csv}\r\n`));
  const result = await (await start(input)).result();
  expect(result).toMatchObject({ rowsRead: 10, sent: 4, rejected: 6 });

  const good = await readTopic(config, input.topic, (value) => value.run_id === input.runId, 4);
  expect(good.map((message) => message.value).sort((a, b) => (a.seq as number) - (b.seq as number))).toEqual([
    expect.objectContaining({ symbol: 'AAPL', price: 185.5, size: 100, note: 'plain', seq: 1 }),
    expect.objectContaining({
      symbol: 'GOOG',
      price: 140.2,
      size: 50,
      note: 'quoted, with comma\nand newline',
      seq: 5,
    }),
    expect.objectContaining({ symbol: 'MSFT', price: 371, size: null, note: 'empty size', seq: 7 }),
    expect.objectContaining({ symbol: 'MSFT', price: 0, size: 2500, seq: 10 }),
  ]);

  const rejects = await readTopic(config, `${input.topic}.rejects`, (value) => value.run_id === input.runId, 6);
  expect(rejects.map((message) => message.value).sort((a, b) => (a.seq as number) - (b.seq as number))).toEqual([
    {
      run_id: input.runId,
      seq: 2,
      row: 2,
      source: input.source,
      raw: 'MSFT,2024-01-02,370.1,200',
      reason: 'expected 5 columns, found 4',
    },
    {
      run_id: input.runId,
      seq: 3,
      row: 3,
      source: input.source,
      raw: 'AAPL,2024-01-02,abc,100,bad price',
      reason: "column Price: 'abc' is not a number",
    },
    {
      run_id: input.runId,
      seq: 4,
      row: 4,
      source: input.source,
      raw: ',2024-01-02,1.0,1,no symbol',
      reason: 'empty symbol in column Symbol',
    },
    {
      run_id: input.runId,
      seq: 6,
      row: 6,
      source: input.source,
      raw: 'AAPL,2024-01-02,186.0,100,x,extra',
      reason: 'expected 5 columns, found 6',
    },
    {
      run_id: input.runId,
      seq: 8,
      row: 8,
      source: input.source,
      raw: 'AAPL,2024-01-03,1e400,1,overflow',
      reason: "column Price: '1e400' is too large for a double",
    },
    {
      run_id: input.runId,
      seq: 9,
      row: 9,
      source: input.source,
      raw: 'AAPL,2024-01-03,1.0,12345678901234567891,inexact volume',
      reason: "column Size: '12345678901234567891' is an integer a double cannot hold exactly (beyond 2^53)",
    },
  ]);
});

test.each([
  ['a missing file', () => '/nonexistent/ticks.csv', 'no such file on worker host'],
  ['an unreadable header', () => writeTempCsv('header.csv', 'just-one-column\n1\n2\n'), 'unreadable header'],
  ['an empty file', () => writeTempCsv('empty.csv', ''), 'empty file, expected a header line'],
  ['no symbol column', () => writeTempCsv('nosym.csv', 'a,b\n1,2\n'), 'no symbol column'],
  ['a relative path', () => 'data/ticks.csv', 'expected an absolute path'],
  [
    'an unclosed quote',
    () => writeTempCsv('quote.csv', 'symbol,price\nA,1\nB,"2\n'),
    'unreadable CSV: Quote Not Closed',
  ],
])('%s fails the run at once with a non-retryable InvalidInput naming it', async (_, source, message) => {
  const path = source();
  const input = replayInputFor(path);
  const started = Date.now();
  const error = await (await start(input)).result().catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const failure = (error as WorkflowFailedError).cause?.cause as { type?: string; message: string };
  expect(failure.type).toBe(ErrorType.InvalidInput);
  expect(failure.message).toContain(path);
  expect(failure.message).toContain(message);
  expect(Date.now() - started).toBeLessThan(15_000);
});

async function sentOver(handle: Awaited<ReturnType<typeof start>>, ms: number): Promise<number> {
  const before = await handle.query(replayProgressQuery);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await handle.query(replayProgressQuery);
  return ((after.sent - before.sent) * 1000) / ms;
}

kafkajsOnly('pause, resume and setRate change the observed send rate; cancel stops the run', async () => {
  const input = replayInputFor(largeCsv(20_000), { pacing: { kind: 'rate', rowsPerSecond: 40 }, chunkSeconds: 1 });
  const handle = await start(input);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const slow = await sentOver(handle, 3000);
  expect(slow).toBeGreaterThan(20);
  expect(slow).toBeLessThan(60);

  await handle.signal(setReplayRateSignal, -1); // ignored, and must not fail the run
  await handle.signal(setReplayRateSignal, 200);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const fast = await sentOver(handle, 3000);
  expect(fast).toBeGreaterThan(130);
  expect(fast).toBeLessThan(260);
  expect((await handle.query(replayProgressQuery)).targetRowsPerSecond).toBe(200);

  await handle.signal(pauseReplaySignal);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(await sentOver(handle, 3000)).toBe(0);
  expect((await handle.query(replayProgressQuery)).status).toBe('paused');

  await handle.signal(resumeReplaySignal);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await sentOver(handle, 2000)).toBeGreaterThan(100);

  await handle.cancel();
  await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
  const progress: ReplayProgress = await handle.query(replayProgressQuery);
  expect(progress.status).toBe('cancelled');
  // Everything the progress marker counts is in the topic, and nothing more.
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, progress.sent);
  expect(messages).toHaveLength(progress.sent);
});

/** Rows the running chunk has committed, as its last heartbeat says (at most about a second old). */
async function heartbeatSent(handle: Awaited<ReturnType<typeof start>>): Promise<number | undefined> {
  const description = await handle.describe();
  const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<ReplayMarker | undefined>(payload)?.sent : undefined;
}

test('pause stops a running chunk at its next transaction, says since when, and resume sends the rest once', async () => {
  // 30 s chunks: a pause that waited for the chunk's end would let about 2,500 more rows through.
  const rate = 100;
  const input = replayInputFor(largeCsv(3000), { pacing: { kind: 'rate', rowsPerSecond: rate }, chunkSeconds: 30 });
  const handle = await start(input);
  let atSignal: number | undefined;
  for (let tries = 0; tries < 300 && (atSignal ?? 0) < rate; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    atSignal = await heartbeatSent(handle);
  }
  const signalledAt = Date.now();
  await handle.signal(pauseReplaySignal);
  let progress = await handle.query(replayProgressQuery);
  for (let tries = 0; tries < 100 && progress.status !== 'paused'; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    progress = await handle.query(replayProgressQuery);
  }
  expect(progress.status).toBe('paused');
  expect(Date.parse(progress.pausedAt!)).toBeGreaterThanOrEqual(signalledAt - 1000);
  expect(Date.parse(progress.pausedAt!)).toBeLessThanOrEqual(Date.now());
  // The heartbeat may be a second old, the pause takes about a second, a commit may be under way: 3 s of rows.
  expect(progress.sent - atSignal!).toBeLessThanOrEqual(3 * rate);
  expect(progress.sent).toBeGreaterThanOrEqual(atSignal!);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await handle.query(replayProgressQuery)).sent).toBe(progress.sent);

  await handle.signal(setReplayRateSignal, 5000);
  await handle.signal(resumeReplaySignal);
  expect(await handle.result()).toMatchObject({ rowsRead: 3000, sent: 3000 });
  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, 3000);
  expect(new Set(messages.map((message) => message.value.seq)).size).toBe(3000);
}, 120_000);

kafkajsOnly('the replay script validates its flags and prints a summary', async () => {
  const help = await runScript('replay', ['--help']);
  expect(help.code).toBe(0);
  for (const flag of ['--rate', '--mode', '--timestamp-column', '--limit', '--loop', '--symbol-column', '--run-id'])
    expect(help.stdout).toContain(flag);

  const negative = await runScript('replay', [SAMPLE_CSV, '--rate', '-5']);
  expect(negative.code).toBe(2);
  expect(negative.stderr).toContain('--rate must be a number above 0');

  const missing = await runScript('replay', ['/nonexistent.csv']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('/nonexistent.csv: no such file');

  const topic = uniqueName('ticks-test');
  const run = await runScript('replay', [SAMPLE_CSV, '--topic', topic, '--no-progress'], env);
  expect(run.stderr).not.toContain('error:');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`${sampleRows.length} rows sent to ${topic}, 0 rejected`);
  expect(run.stdout).toContain(`Workflow: ${config.temporal.uiUrl}/namespaces/default/workflows/replay-`);

  // A detached run, steered with replay-control.
  const runId = uniqueName('ctl');
  const detached = await runScript(
    'replay',
    [SAMPLE_CSV, '--topic', topic, '--rate', '20', '--run-id', runId, '--detach'],
    env,
  );
  expect(detached.code).toBe(0);
  expect((await runScript('replay-control', ['pause', runId])).stdout).toContain(`paused ${runId}`);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const status = await runScript('replay-control', ['status', runId, '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ runId, status: 'paused', pausedAt: expect.any(String) });
  const table = await runScript('replay-control', ['status', runId]);
  expect(table.stdout).toMatch(new RegExp(`│ run +│ ${runId} +│`));
  expect(table.stdout).toMatch(/│ status +│ paused since \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ s ago\) +│/);
  expect((await runScript('replay-control', ['rate', runId, '-1'])).code).toBe(2);
  expect((await runScript('replay-control', ['cancel', runId])).code).toBe(0);
  const unknown = await runScript('replay-control', ['status', 'no-such-run']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('replay-no-such-run');
});
