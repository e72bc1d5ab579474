import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { ticksTableInput } from '../../lib/ticks-table';
import { CreateTableCommand } from '@aws-sdk/client-glue';
import { connectClient } from '../../lib/temporal';
import { pipelineInput } from '../../lib/workflow-inputs';
import {
  compactWorkflow,
  consumerWorkflow,
  healthcheckWorkflow,
  pipelineWorkflow,
  queryWorkflow,
  replayWorkflow,
} from '../../workflows';
import {
  pauseReplaySignal,
  replayProgressQuery,
  resumeReplaySignal,
  setReplayRateSignal,
  stopConsumerSignal,
} from '../../lib/contracts';
import {
  createTestCrawler,
  createTestWorkGroup,
  deletePrefix,
  dropTestCrawler,
  dropTestWorkGroup,
  testCrawlerName,
  testDatabaseName,
  testWorkGroupName,
  ticks,
  uniqueGlueName,
  writeTickObjects,
} from '../helpers/glue';
import { consumerInputFor, waitForProgress } from '../helpers/lake';
import { replayInputFor, SAMPLE_CSV } from '../helpers/replay';
import { startWorkerProcess, uniqueName, type WorkerEntry, type WorkerProcess } from '../helpers/workers';
import { HISTORIES_DIR, WORKFLOW_IDS_FILE, workflowIds } from '../helpers/histories';

/**
 * Records real histories of every workflow from the real stack into
 * test/fixtures/histories/, which test/unit/workflow-histories.test.ts replays
 * against the current workflow code. Not part of `npm test`: run it (stack up)
 * when a workflow gains a path worth guarding, and commit the files it writes:
 *
 *   npx jest --testMatch '**\/*.record.ts' test/histories
 *
 * Each history is written under a stable name, replacing the file of the same name. To record only some
 * (and leave the other fixtures as they are), name them: TICKSYNC_RECORD_ONLY=compact (a comma-separated
 * list of fixture names); only the recordings that write one of them run, with only the workers they need.
 */

/** The fixtures to record (TICKSYNC_RECORD_ONLY), or undefined for all. */
const ONLY = process.env.TICKSYNC_RECORD_ONLY?.split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const selected = (fixtures: string[]) => ONLY === undefined || fixtures.some((name) => ONLY.includes(name));
/** A recording that writes `fixtures` with workers of `roles`: skipped when TICKSYNC_RECORD_ONLY names none of them. */
const RECORDINGS: { fixtures: string[]; roles: WorkerEntry[] }[] = [];
function recording(
  title: string,
  fixtures: string[],
  roles: WorkerEntry[],
  body: () => Promise<void>,
  timeoutMs?: number,
): void {
  RECORDINGS.push({ fixtures, roles });
  (selected(fixtures) ? test : test.skip)(`${title} (${fixtures.join(', ')})`, body, timeoutMs);
}

const topic = uniqueGlueName('histories');
const env = {
  TICKSYNC_INGEST_TASK_QUEUE: uniqueName('record-ingest'),
  TICKSYNC_COMPACT_TASK_QUEUE: uniqueName('record-compact'),
  TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('record-catalog'),
  TICKSYNC_QUERY_TASK_QUEUE: uniqueName('record-query'),
  TICKSYNC_TOPIC: topic,
  TICKSYNC_GLUE_DATABASE: testDatabaseName('histories'),
  TICKSYNC_GLUE_CRAWLER: testCrawlerName('histories'),
  TICKSYNC_ATHENA_WORKGROUP: testWorkGroupName('histories'),
};
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const athena = createAthenaClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const crawler = {
  crawler: config.glue.crawler,
  database: config.glue.database,
  path: `s3://${config.s3.bucket}/${config.s3.rawPrefix}${topic}/`,
};

let client: Client;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  client = await connectClient(config);
  await createTestCrawler(glue, config, crawler);
  await createTestWorkGroup(athena, config, config.athena.workgroup);
  const roles = new Set(RECORDINGS.filter(({ fixtures }) => selected(fixtures)).flatMap(({ roles }) => roles));
  workers = await Promise.all([...roles].map((role) => startWorkerProcess(role, env)));
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await dropTestCrawler(glue, crawler).catch((error: unknown) => console.error(error));
  await dropTestWorkGroup(athena, config.athena.workgroup).catch((error: unknown) => console.error(error));
  await deletePrefix(s3, config.s3.bucket, `${config.s3.rawPrefix}${topic}/`);
  await deletePrefix(s3, config.s3.bucket, `${config.s3.curatedPrefix}${topic}/`);
  await client?.connection.close();
  glue.destroy();
  athena.destroy();
  s3.destroy();
});

/** Writes one run's history (the first run, or `runId`'s) as `<name>.json`. */
async function save(name: string, workflowId: string, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  expect(history.events?.length).toBeGreaterThan(3);
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), historyToJSON(history) + '\n');
  const ids = { ...workflowIds(), [name]: workflowId };
  const sorted = Object.fromEntries(Object.entries(ids).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(WORKFLOW_IDS_FILE, JSON.stringify(sorted, null, 2) + '\n');
}

async function stopConsumer(handle: WorkflowHandle<typeof consumerWorkflow>): Promise<void> {
  await handle.signal(stopConsumerSignal);
  await handle.result();
}

recording(
  'the pipeline and each of its stages, on the sample',
  ['pipeline', 'consumer-stopped', 'replay-ordered', 'crawl', 'query-named'],
  ['ingest', 'catalog', 'query'],
  async () => {
    const input = pipelineInput(SAMPLE_CSV, { minutes: 60, time: 'arrival' }, config);
    const workflowId = `pipeline-${input.replay.runId}`;
    const handle = await client.workflow.start(pipelineWorkflow, {
      workflowId,
      taskQueue: config.temporal.catalogTaskQueue,
      args: [input],
    });
    const report = await handle.result();
    expect(report.lakeRows).toBe(report.replay.sent);
    await stopConsumer(client.workflow.getHandle(input.consumerWorkflowId));
    await save('pipeline', workflowId);
    await save('consumer-stopped', input.consumerWorkflowId);
    // The children by kind, from the pipeline's own history.
    const history = await handle.fetchHistory();
    const children = (history.events ?? []).flatMap((event) => {
      const started = event.childWorkflowExecutionStartedEventAttributes;
      return started
        ? [{ type: started.workflowType?.name ?? '', id: started.workflowExecution?.workflowId ?? '' }]
        : [];
    });
    const names: Record<string, string> = {
      replayWorkflow: 'replay-ordered',
      crawlWorkflow: 'crawl',
      queryWorkflow: 'query-named',
    };
    const saved = new Set<string>();
    for (const child of children) {
      const name = names[child.type];
      if (!name || saved.has(name)) continue;
      await save(name, child.id);
      saved.add(name);
    }
    expect([...saved].sort()).toEqual(Object.values(names).sort());
  },
);

recording(
  'a paced replay paused, given a new rate, resumed, continued as new',
  ['replay-signals-first-run', 'replay-signals-last-run'],
  ['ingest'],
  async () => {
    const input = replayInputFor(SAMPLE_CSV, {
      topic,
      pacing: { kind: 'rate', rowsPerSecond: 400 },
      chunkSeconds: 1,
      chunksPerRun: 3,
    });
    const workflowId = `replay-${input.runId}`;
    const handle = await client.workflow.start(replayWorkflow, {
      workflowId,
      taskQueue: config.temporal.ingestTaskQueue,
      args: [input],
    });
    await waitForSent(handle, 200);
    await handle.signal(pauseReplaySignal);
    await sleep(1500);
    await handle.signal(setReplayRateSignal, 2000);
    await handle.signal(resumeReplaySignal);
    const result = await handle.result();
    expect(result.sent).toBeGreaterThan(0);
    await save('replay-signals-first-run', workflowId, handle.firstExecutionRunId);
    await save('replay-signals-last-run', workflowId);
  },
);

recording('a replay cancelled mid-run', ['replay-cancelled'], ['ingest'], async () => {
  const input = replayInputFor(SAMPLE_CSV, { topic, pacing: { kind: 'rate', rowsPerSecond: 200 } });
  const workflowId = `replay-${input.runId}`;
  const handle = await client.workflow.start(replayWorkflow, {
    workflowId,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [input],
  });
  await waitForSent(handle, 100);
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();
  await save('replay-cancelled', workflowId);
});

recording(
  'a consumer that continues as new while a replay feeds it',
  ['consumer-continued-first-run', 'consumer-continued-last-run'],
  ['ingest'],
  async () => {
    const input = consumerInputFor(topic, { groupId: uniqueName('record-group'), maxHistoryEvents: 40 });
    const workflowId = `consumer-${input.groupId}`;
    const handle = await client.workflow.start(consumerWorkflow, {
      workflowId,
      taskQueue: config.temporal.ingestTaskQueue,
      args: [input],
    });
    // Members report when they have news: a paced replay gives them some every second.
    const feed = replayInputFor(SAMPLE_CSV, { topic, pacing: { kind: 'rate', rowsPerSecond: 300 } });
    const replay = await client.workflow.start(replayWorkflow, {
      workflowId: `replay-${feed.runId}`,
      taskQueue: config.temporal.ingestTaskQueue,
      args: [feed],
    });
    await waitForProgress(handle, (progress) => progress.runs >= 2, 120_000);
    await replay.cancel();
    await stopConsumer(handle);
    await save('consumer-continued-first-run', workflowId, handle.firstExecutionRunId);
    await save('consumer-continued-last-run', workflowId);
  },
);

recording(
  'a query that fails (unknown table) and the healthcheck',
  ['query-failed', 'healthcheck'],
  ['query', 'catalog', 'ingest'],
  async () => {
    const failing = client.workflow.start(queryWorkflow, {
      workflowId: uniqueName('query-failed'),
      taskQueue: config.temporal.queryTaskQueue,
      args: [
        {
          database: config.glue.database,
          workGroup: config.athena.workgroup,
          outputLocation: config.athena.outputLocation,
          sql: 'SELECT * FROM no_such_table',
          maxRows: 10,
          pollInitialMs: 200,
          pollMaxMs: 1000,
        },
      ],
    });
    const query = await failing;
    await expect(query.result()).rejects.toThrow();
    await save('query-failed', query.workflowId);

    const probeId = uniqueName('healthcheck');
    const health = await client.workflow.start(healthcheckWorkflow, {
      workflowId: probeId,
      taskQueue: config.temporal.catalogTaskQueue,
      args: [{ probeId, ingestTaskQueue: config.temporal.ingestTaskQueue }],
    });
    await health.result();
    await save('healthcheck', probeId);
  },
);

recording('a compaction of two closed hours, each published', ['compact'], ['compact'], async () => {
  // The raw table as provision --projection makes it, two long-closed hours in it; no crawl needed.
  await glue.send(
    new CreateTableCommand({
      DatabaseName: config.glue.database,
      TableInput: ticksTableInput(config, { projection: true }),
    }),
  );
  const hours = [
    { dt: '2024-01-02', hour: '03', objects: [ticks(40), ticks(25, { seq: 1000 })] },
    { dt: '2024-01-02', hour: '04', objects: [ticks(1)] },
  ];
  await writeTickObjects(s3, config.s3.bucket, `${config.s3.rawPrefix}${topic}/`, hours);
  const workflowId = uniqueName('compact');
  const handle = await client.workflow.start(compactWorkflow, {
    workflowId,
    taskQueue: config.temporal.compactTaskQueue,
    args: [
      {
        database: config.glue.database,
        table: ticksTableInput(config).Name!,
        hours: hours.map(({ dt, hour }) => ({ dt, hour })),
        graceMinutes: 15,
        lookbackHours: 48,
        targetMb: 128,
      },
    ],
  });
  const result = await handle.result();
  expect(result.hours.map(({ outcome, records }) => [outcome, records])).toEqual([
    ['published', 65],
    ['published', 1],
  ]);
  await save('compact', workflowId);
});

async function waitForSent(handle: WorkflowHandle<typeof replayWorkflow>, rows: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const progress = await handle.query(replayProgressQuery).catch(() => undefined);
    if (progress && progress.sent >= rows) return;
    if (Date.now() > deadline) throw new Error(`the replay never sent ${rows} rows: ${JSON.stringify(progress)}`);
    await sleep(200);
  }
}
