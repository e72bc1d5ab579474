import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { CRAWL_DEFAULTS } from '../../lib/contracts';
import type { crawlWorkflow } from '../../workflows';
import {
  createTestCrawler,
  deletePrefix,
  dropTestCrawler,
  ticks,
  testCrawlerName,
  testDatabaseName,
  uniqueGlueName,
  writeTickObjects,
  type TestCrawler,
} from '../helpers/glue';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

const env = { TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('test-schedule') };
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const topic = uniqueGlueName('scheduletest');
const prefix = `${config.s3.rawPrefix}${topic}/`;
const crawler: TestCrawler = {
  crawler: testCrawlerName('schedule'),
  database: testDatabaseName('scheduletest'),
  path: `s3://${config.s3.bucket}/${prefix}`,
};
const scheduleId = `ticksync-crawl-${crawler.crawler}`;
let client: Client;
let worker: WorkerProcess;

beforeAll(async () => {
  client = await connectClient(config);
  worker = await startWorkerProcess('catalog', env);
  await createTestCrawler(glue, config, crawler);
  await writeTickObjects(s3, config.s3.bucket, prefix, [{ dt: '2024-05-06', hour: '07', objects: [ticks(4)] }]);
});

afterAll(async () => {
  await client?.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await dropTestCrawler(glue, crawler);
  await deletePrefix(s3, config.s3.bucket, prefix);
  await worker?.stop();
  await client?.connection.close();
  glue.destroy();
  s3.destroy();
});

const schedule = (...args: string[]) => runScript('schedule', args, env);

/** Polls until `done` holds (schedule listings are eventually consistent). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`never matched: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test('the crawl schedule is created, updated in place, listed, paused, unpaused, triggered and deleted', async () => {
  const created = await schedule('crawl', '--crawler', crawler.crawler, '--every', '5m');
  expect(created.code).toBe(0);
  expect(created.stdout).toContain(`schedule ${scheduleId} created: crawlWorkflow for ${crawler.crawler} every 5m`);
  expect(created.stdout).toContain('overlap SKIP, catch-up window 5m');
  const handle = client.schedule.getHandle(scheduleId);
  let description = await handle.describe();
  expect(description.spec.intervals?.map((interval) => interval.every)).toEqual([300_000]);
  expect(description.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 300_000, pauseOnFailure: false });
  expect(description.action).toMatchObject({
    workflowType: 'crawlWorkflow',
    workflowId: `crawl-${crawler.crawler}`,
    taskQueue: env.TICKSYNC_CATALOG_TASK_QUEUE,
    args: [{ crawler: crawler.crawler, ...CRAWL_DEFAULTS }],
  });

  const same = await schedule('crawl', '--crawler', crawler.crawler, '--every', '5m');
  expect(same.stdout).toContain(`schedule ${scheduleId} unchanged`);
  const updated = await schedule('crawl', '--crawler', crawler.crawler, '--every', '1h30m', '--catchup-window', '10m');
  expect(updated.code).toBe(0);
  expect(updated.stdout).toContain(`schedule ${scheduleId} updated: crawlWorkflow for ${crawler.crawler} every 1h30m`);
  description = await handle.describe();
  expect(description.spec.intervals?.map((interval) => interval.every)).toEqual([5_400_000]);
  expect(description.policies.catchupWindow).toBe(600_000);

  const listed = await eventually(
    () => schedule('list', '--json'),
    (result) => result.stdout.includes(scheduleId),
  );
  expect(listed.code).toBe(0);
  const entry = (JSON.parse(listed.stdout) as { scheduleId: string; paused: boolean; every: string[] }[]).find(
    (item) => item.scheduleId === scheduleId,
  );
  expect(entry).toMatchObject({ paused: false, every: ['1h30m'] });
  const text = await schedule('list');
  expect(text.stdout).toMatch(new RegExp(`^${scheduleId}  active  every 1h30m  next `, 'm'));

  const paused = await schedule('pause', '--crawler', crawler.crawler);
  expect(paused.code).toBe(0);
  expect(paused.stdout).toContain(`schedule ${scheduleId} paused`);
  expect((await handle.describe()).state).toMatchObject({
    paused: true,
    note: 'paused with npm run schedule -- pause',
  });
  // Updating a paused schedule leaves it paused.
  const whilePaused = await schedule('crawl', '--crawler', crawler.crawler, '--every', '2h');
  expect(whilePaused.stdout).toContain('(still paused)');
  expect((await handle.describe()).state.paused).toBe(true);
  const unpaused = await schedule('unpause', '--crawler', crawler.crawler);
  expect(unpaused.code).toBe(0);
  expect((await handle.describe()).state.paused).toBe(false);

  const triggered = await schedule('trigger', '--crawler', crawler.crawler);
  expect(triggered.code).toBe(0);
  const match = new RegExp(`triggered: (crawl-${crawler.crawler}-\\S+)`).exec(triggered.stdout);
  expect(match).not.toBeNull();
  const workflowId = match![1]!;
  expect((await handle.describe()).info.recentActions.map((action) => action.action.workflow.workflowId)).toContain(
    workflowId,
  );
  // The triggered run is a real crawl, run by the worker on the schedule's task queue.
  const result = await client.workflow.getHandle<typeof crawlWorkflow>(workflowId).result();
  expect(result).toMatchObject({
    crawler: crawler.crawler,
    status: 'SUCCEEDED',
    tablesCreated: [`${crawler.database}.${topic}`],
  });

  const deleted = await schedule('delete', '--crawler', crawler.crawler);
  expect(deleted.code).toBe(0);
  expect(deleted.stdout).toContain(`schedule ${scheduleId} deleted`);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  const again = await schedule('delete', '--crawler', crawler.crawler);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`no schedule ${scheduleId}; create it with: npm run schedule -- crawl --every 5m`);
});

test.each([
  [['crawl', '--every', '5x'], "--every expects a duration such as 5m, 1h, 1h30m, got '5x'"],
  [['crawl', '--every', '30s'], '--every must be at least 1m'],
  [['crawl', '--every', ''], "--every expects a duration such as 5m, 1h, 1h30m, got ''"],
  [['crawl', '--every', '5m', '--catchup-window', '1s'], '--catchup-window must be at least 10s'],
  [['crawl'], "required option '--every <duration>' not specified"],
  [['pause', '--crawler', 'no such crawler'], '--crawler expects a Glue crawler name'],
  [['reschedule'], "unknown command 'reschedule'"],
])('schedule %j is a usage error (exit 2)', async (args, message) => {
  const result = await schedule(...args);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(message);
});

test.each(['crawl', 'list', 'describe', 'pause', 'unpause', 'trigger', 'delete'])(
  'schedule %s --help describes the subcommand',
  async (command) => {
    const result = await schedule(command, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: npm run schedule -- ${command}`);
  },
);

test('the compaction schedule is created with its input, then unchanged when asked again', async () => {
  const table = uniqueGlueName('compactschedule');
  const compactId = `ticksync-compact-${table}`;
  try {
    const created = await schedule('compact', '--every', '1h', '--table', table, '--grace', '20m', '--target-mb', '64');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(
      `schedule ${compactId} created: compactWorkflow for ${config.glue.database}.${table} every 1h`,
    );
    const description = await client.schedule.getHandle(compactId).describe();
    expect(description.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3_600_000 });
    expect(description.action).toMatchObject({
      workflowType: 'compactWorkflow',
      workflowId: `compact-${table}`,
      taskQueue: config.temporal.compactTaskQueue,
      args: [{ database: config.glue.database, table, graceMinutes: 20, lookbackHours: 168, targetMb: 64 }],
    });
    const same = await schedule('compact', '--every', '1h', '--table', table, '--grace', '20m', '--target-mb', '64');
    expect(same.stdout).toContain(`schedule ${compactId} unchanged`);
    const bad = await schedule('compact', '--every', '1h', '--grace', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--grace expects a duration such as 30s, 5m, 1h, 1h30m, got 'soon'");
  } finally {
    await client.schedule
      .getHandle(compactId)
      .delete()
      .catch(() => undefined);
  }
});
