import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import type { DeadLetter } from '../../scripts/dlq';
import { consumerWorkflow } from '../../workflows';
import { stopConsumerSignal } from '../../lib/contracts';
import { deletePrefix, uniqueGlueName } from '../helpers/glue';
import { testKafka } from '../helpers/kafka';
import { consumerInputFor, readLake, waitForProgress } from '../helpers/lake';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/** Dead letters listed, exported, fixed and replayed into the lake by `npm run dlq`, with a real consumer running. */

const topic = uniqueGlueName('dlqtest');
const env = { TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-dlq'), TICKSYNC_TOPIC: topic };
const config = loadConfig({ ...process.env, ...env });
const s3 = createS3Client(config, 'admin');
const { bucket, rawPrefix, dlqPrefix } = config.s3;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-dlq-'));
let client: Client;
let worker: WorkerProcess;

beforeAll(async () => {
  client = await connectClient(config);
  worker = await startWorkerProcess('ingest', env);
  const admin = testKafka(config).admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: 1 }]);
  await admin.disconnect();
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  for (const prefix of [rawPrefix, dlqPrefix]) await deletePrefix(s3, bucket, `${prefix}${topic}/`);
  s3.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

const envelope = (seq: number) => ({ ts: new Date().toISOString(), run_id: 'dlq-test', seq });

test('dead letters are listed, exported, fixed and sent again; a file with a bad record sends nothing', async () => {
  const handle = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('dlq-consumer'),
    taskQueue: config.temporal.ingestTaskQueue,
    args: [consumerInputFor(topic)],
  });
  try {
    const producer = testKafka(config).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'HSI', value: JSON.stringify({ ...envelope(1), price: 1 }) },
        { key: 'N225', value: '{"price": 2, "ts": "yesterday"' },
        { key: 'IXIC', value: JSON.stringify({ price: 3, run_id: 'dlq-test', seq: 3 }) },
      ],
    });
    await producer.disconnect();
    await waitForProgress(handle, (p) => p.totals.records === 1 && p.totals.deadLetters === 2 && p.lag === 0);

    const list = await runScript('dlq', ['list', '--json'], env);
    expect(list.code).toBe(0);
    const letters = JSON.parse(list.stdout) as DeadLetter[];
    expect(letters.map((letter) => [letter.key, letter.reason])).toEqual(
      expect.arrayContaining([
        ['N225', expect.stringMatching(/^not JSON/)],
        ['IXIC', 'missing envelope field ts'],
      ]),
    );
    const table = await runScript('dlq', ['list'], env);
    expect(table.stdout).toMatch(/missing envelope field ts/);
    expect(table.stdout).toMatch(/^2 dead letters in s3:\/\//m);

    const exported = path.join(dir, 'dead.jsonl');
    expect((await runScript('dlq', ['export', '--out', exported], env)).code).toBe(0);
    const lines = fs
      .readFileSync(exported, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DeadLetter);
    expect(lines).toHaveLength(2);

    // Unfixed, the file is refused as a whole, naming each line and why.
    const refused = await runScript('dlq', ['replay', exported], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/dead\.jsonl:\d: the consumer would dead-letter it again: not JSON/);
    expect(refused.stderr).toMatch(
      /dead\.jsonl:\d: the consumer would dead-letter it again: missing envelope field ts/,
    );
    expect(refused.stderr).toMatch(/2 of the file's records cannot be sent; nothing was sent/);

    const fixed = path.join(dir, 'fixed.jsonl');
    fs.writeFileSync(
      fixed,
      lines
        .map((letter, index) =>
          JSON.stringify({ ...letter, value: JSON.stringify({ ...envelope(10 + index), price: 2 + index }) }),
        )
        .join('\n'),
    );
    const dry = await runScript('dlq', ['replay', fixed, '--dry-run'], env);
    expect(dry.stdout).toContain(`2 records would be sent to ${topic}`);
    const sent = await runScript('dlq', ['replay', fixed], env);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain(`2 records sent to ${topic}`);

    await waitForProgress(handle, (p) => p.totals.records === 3 && p.lag === 0);
    const raw = (await readLake(s3, bucket, `${rawPrefix}${topic}/`)).flatMap((object) => object.lines);
    expect(raw.map((line) => line.seq).sort()).toEqual([1, 10, 11]);
  } finally {
    await handle.signal(stopConsumerSignal);
    await handle.result();
  }
}, 180_000);

test('bad usage exits 2 naming the problem', async () => {
  const missing = await runScript('dlq', ['replay', path.join(dir, 'nope.jsonl')], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/nope\.jsonl: no such file/);
  const noOut = await runScript('dlq', ['export'], env);
  expect(noOut.code).toBe(2);
  expect(noOut.stderr).toMatch(/--out <file>/);
});
