import type { Client } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { type ReplayInput, replayProgressQuery } from '../../lib/contracts';
import { replayWorkflow } from '../../workflows';
import { readTopic } from '../helpers/kafka';
import { largeCsv, replayInputFor, SAMPLE_CSV } from '../helpers/replay';
import { freePorts, runScript, withOwnService } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

const env = { TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-replay-faults') };
const config = loadConfig({ ...process.env, ...env });
let client: Client;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  client = await connectClient(config);
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  await client?.connection.close();
});

const start = (input: ReplayInput) =>
  client.workflow.start(replayWorkflow, {
    workflowId: `replay-${input.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [input],
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('kill -9 of the worker at random moments, then a restart: every row is in the topic exactly once', async () => {
  const rows = 12_000;
  const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 1000 }, batchRows: 500 });
  workers.push(await startWorkerProcess('ingest', env));
  const handle = await start(input);

  for (let kill = 0; kill < 3; kill++) {
    // A random moment while rows are flowing: 1.5 to 4 s after the (re)start.
    await sleep(1500 + Math.random() * 2500);
    await workers.at(-1)?.stop('SIGKILL');
    // Killed mid-run. Asked of the server, not by a query: a query goes to the dead worker's sticky queue
    // and waits out its timeout (~30 s) while no worker can answer.
    expect((await handle.describe()).status.name).toBe('RUNNING');
    workers.push(await startWorkerProcess('ingest', env));
  }
  const result = await handle.result();
  expect(result).toMatchObject({ rowsRead: rows, sent: rows, rejected: 0 });
  expect((await handle.query(replayProgressQuery)).retries).toBeGreaterThanOrEqual(1);

  const messages = await readTopic(config, input.topic, (value) => value.run_id === input.runId, rows, {
    settleMs: 3000,
  });
  const seqs = messages.map((message) => message.value.seq as number);
  expect(seqs.length).toBe(rows);
  expect(new Set(seqs).size).toBe(rows);
  expect(Math.min(...seqs)).toBe(1);
  expect(Math.max(...seqs)).toBe(rows);
});

test('an unreachable broker is retried with backoff and shows in the progress query', async () => {
  const [port] = await freePorts(1);
  const brokenEnv = {
    TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-no-broker'),
    TICKSYNC_KAFKA_BROKERS: `127.0.0.1:${port}`,
  };
  workers.push(await startWorkerProcess('ingest', brokenEnv));
  const input = replayInputFor(SAMPLE_CSV);
  const handle = await client.workflow.start(replayWorkflow, {
    workflowId: `replay-${input.runId}`,
    taskQueue: brokenEnv.TICKSYNC_INGEST_TASK_QUEUE,
    args: [input],
  });
  let progress = await handle.query(replayProgressQuery);
  const deadline = Date.now() + 90_000;
  while (progress.retries < 2 && Date.now() < deadline) {
    await sleep(1000);
    progress = await handle.query(replayProgressQuery);
  }
  expect(progress.status).toBe('retrying');
  expect(progress.retries).toBeGreaterThanOrEqual(2);
  expect(progress.lastError).toMatch(/ECONNREFUSED|Connection error/);
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow('Workflow execution cancelled');
  expect((await handle.describe()).status.name).toBe('CANCELLED');
});

test('the broker restarts mid-run: the run waits, resumes, and every row is in the topic once', async () => {
  // A broker of its own (the shared one stays up for the other tests), driven by the real stack script.
  await withOwnService('kafka', async (stackEnv) => {
    const brokerEnv = { ...stackEnv, TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-broker-restart') };
    const brokerConfig = loadConfig({ ...process.env, ...brokerEnv });
    workers.push(await startWorkerProcess('ingest', brokerEnv));
    const rows = 6000;
    const input = replayInputFor(largeCsv(rows), { pacing: { kind: 'rate', rowsPerSecond: 800 }, batchRows: 400 });
    const handle = await client.workflow.start(replayWorkflow, {
      workflowId: `replay-${input.runId}`,
      taskQueue: brokerEnv.TICKSYNC_INGEST_TASK_QUEUE,
      args: [input],
    });
    await sleep(2500);
    expect((await runScript('stack', ['down', 'kafka'], stackEnv)).code).toBe(0);
    await sleep(8000);
    const during = await handle.query(replayProgressQuery);
    expect(during.sent).toBeLessThan(rows);
    expect((await runScript('stack', ['up', 'kafka'], stackEnv)).code).toBe(0);

    expect(await handle.result()).toMatchObject({ rowsRead: rows, sent: rows });
    const messages = await readTopic(brokerConfig, input.topic, (value) => value.run_id === input.runId, rows);
    const seqs = new Set(messages.map((message) => message.value.seq));
    expect(messages).toHaveLength(rows);
    expect(seqs.size).toBe(rows);
  });
});
