import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { CatalogActivities } from '../../activities';
import { ErrorType } from '../../lib/errors';
import {
  type CrawlerState,
  type CrawlInput,
  crawlProgressQuery,
  type CrawlSummary,
  type LastCrawl,
} from '../../lib/contracts';
import { crawlWorkflow } from '../../workflows/crawl';
import { uniqueName } from '../helpers/workers';
import {
  eventually,
  failureOf,
  openWorkflowEnv,
  timerDurations,
  withWorker,
  type WorkflowEnv,
} from '../helpers/workflow-env';

/**
 * crawlWorkflow with mocked Glue activities: the crawler's states come from a script, one a poll. Polls are
 * 100 ms doubling to 400 ms here (the defaults, 2 s to 30 s, would make each test a minute long without
 * time-skipping). The activities' own timeouts (1 minute, 10 attempts) would take minutes in real time and
 * are not exercised; a failed attempt, which the same retry policy retries, is.
 */

type CrawlActivities = Pick<
  CatalogActivities,
  'getCrawlerState' | 'snapshotCatalog' | 'startCrawler' | 'stopCrawler' | 'describeCrawlChanges'
>;

const BEFORE: LastCrawl = { status: 'SUCCEEDED', startTime: '2026-01-01T00:00:00.000Z' };
const STARTED = '2026-01-02T00:00:00.000Z';
const CHANGES: CrawlSummary = {
  tablesCreated: ['ticksync.ticks'],
  tablesUpdated: [],
  partitionsAdded: { 'ticksync.ticks': 2 },
  columnsAdded: { 'ticksync.ticks': [{ name: 'symbol', type: 'string' }] },
  runtimeSeconds: 42,
};

/**
 * Fake Glue: the first getCrawlerState is the crawler before the start (READY, last crawl BEFORE); each
 * later call takes the next state of `polls` (the last one repeats). A state may be a function (it may throw).
 */
function fakeGlue(crawler: string, polls: (Partial<CrawlerState> | (() => Promise<Partial<CrawlerState>>))[]) {
  const calls: string[] = [];
  let poll = 0;
  const state = (rest: Partial<CrawlerState>): CrawlerState => ({
    crawler,
    state: 'READY',
    databases: ['ticksync'],
    ...rest,
  });
  const activities: CrawlActivities = {
    async getCrawlerState(name) {
      calls.push(`getCrawlerState ${name}`);
      if (calls.filter((call) => call.startsWith('getCrawlerState')).length === 1) return state({ lastCrawl: BEFORE });
      const next = polls[Math.min(poll, polls.length - 1)]!;
      const polled = typeof next === 'function' ? await next() : next;
      poll += 1; // a failed poll is tried again with the same state
      return state(polled);
    },
    async snapshotCatalog(databases) {
      calls.push(`snapshotCatalog ${databases.join()}`);
      return { tables: { 'ticksync.old': ['a'] } };
    },
    async startCrawler(name) {
      calls.push(`startCrawler ${name}`);
      return { crawler: name, outcome: 'started', startTime: STARTED, previousCrawlStartTime: BEFORE.startTime };
    },
    async stopCrawler(name) {
      calls.push(`stopCrawler ${name}`);
      return { stopped: true };
    },
    async describeCrawlChanges(input) {
      calls.push(`describeCrawlChanges ${input.since} ${JSON.stringify(input.snapshot)}`);
      return CHANGES;
    },
  };
  return { activities, calls };
}

const running: Partial<CrawlerState> = { state: 'RUNNING', elapsedSeconds: 1 };
const over = (status: LastCrawl['status'], errorMessage?: string): Partial<CrawlerState> => ({
  state: 'READY',
  lastCrawl: { status, startTime: STARTED, errorMessage },
});

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

const crawlInput = (crawler: string): CrawlInput => ({ crawler, pollInitialSeconds: 0.1, pollMaxSeconds: 0.4 });

test('polls with backoff until READY with a newer LastCrawl, then reports what the crawl changed', async () => {
  const crawler = uniqueName('crawler');
  // STOPPING, then READY with the old LastCrawl (the new one not yet recorded): neither ends the crawl.
  const fake = fakeGlue(crawler, [
    running,
    running,
    { state: 'STOPPING' },
    { state: 'READY', lastCrawl: BEFORE },
    over('SUCCEEDED'),
  ]);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    expect(await handle.result()).toEqual({
      crawler,
      outcome: 'started',
      status: 'SUCCEEDED',
      startTime: STARTED,
      durationSeconds: 42,
      tablesCreated: CHANGES.tablesCreated,
      tablesUpdated: [],
      partitionsAdded: CHANGES.partitionsAdded,
      columnsAdded: CHANGES.columnsAdded,
    });
    expect(await timerDurations(handle)).toEqual([100, 200, 400, 400, 400]);
    // The snapshot is taken before the start, and the changes are read since the crawl's own start.
    expect(fake.calls.filter((call) => !call.startsWith('getCrawlerState'))).toEqual([
      'snapshotCatalog ticksync',
      `startCrawler ${crawler}`,
      `describeCrawlChanges ${STARTED} {"tables":{"ticksync.old":["a"]}}`,
    ]);
    expect(await handle.query(crawlProgressQuery)).toMatchObject({
      phase: 'succeeded',
      polls: 5,
      crawlerState: 'READY',
      lastCrawl: { status: 'SUCCEEDED', startTime: STARTED },
    });
  });
});

test.each([
  ['FAILED', ErrorType.CrawlFailed, /^crawler crawler-.* failed: Access Denied on s3:\/\/lake\/raw$/],
  ['CANCELLED', ErrorType.CrawlCancelled, /^crawl of crawler-.* started at .* was cancelled: the crawler was stopped$/],
] as const)('a crawl that ends %s fails the run, non-retryably, saying why', async (status, type, message) => {
  const crawler = uniqueName('crawler');
  const fake = fakeGlue(crawler, [running, over(status, 'Access Denied on s3://lake/raw')]);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    const cause = await failureOf(handle.result());
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type, nonRetryable: true });
    expect(cause?.message).toMatch(message);
    const progress = await handle.query(crawlProgressQuery);
    expect(progress).toMatchObject({ phase: 'failed', lastCrawl: { status } });
    expect(progress.error).toMatch(message);
    expect(fake.calls.some((call) => call.startsWith('describeCrawlChanges'))).toBe(false);
  });
});

test('a missing crawler fails the run at once with the activity’s own error type', async () => {
  const crawler = uniqueName('crawler');
  const fake = fakeGlue(crawler, [running]);
  fake.activities.getCrawlerState = async (name) => {
    fake.calls.push(`getCrawlerState ${name}`);
    throw ApplicationFailure.nonRetryable(`GetCrawler failed: EntityNotFoundException: ${name}`, ErrorType.NotFound);
  };
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    const cause = await failureOf(handle.result());
    // Surfaced: the run's own failure carries the activity's type, for callers to branch on.
    expect(cause).toMatchObject({ type: ErrorType.NotFound, message: expect.stringContaining(crawler) });
    expect(fake.calls).toEqual([`getCrawlerState ${crawler}`]);
    expect((await handle.query(crawlProgressQuery)).phase).toBe('failed');
  });
});

test('a poll that fails for a while is retried, and the polling goes on', async () => {
  const crawler = uniqueName('crawler');
  let failed = 0;
  const fake = fakeGlue(crawler, [
    running,
    async () => {
      if (failed++ === 0) throw new Error('Rate exceeded');
      return running;
    },
    over('SUCCEEDED'),
  ]);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    expect((await handle.result()).status).toBe('SUCCEEDED');
    expect(failed).toBe(2);
    expect((await handle.query(crawlProgressQuery)).polls).toBe(3);
  });
});

test('cancelling the run while it polls stops the crawler; before the start, it leaves the crawler alone', async () => {
  const crawler = uniqueName('crawler');
  const fake = fakeGlue(crawler, [running]);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    await eventually(
      () => handle.query(crawlProgressQuery),
      (progress) => progress.polls >= 2,
      { what: 'two polls' },
    );
    await handle.cancel();
    expect(await failureOf(handle.result())).toBeInstanceOf(CancelledFailure);
    expect(fake.calls).toContain(`stopCrawler ${crawler}`);
    expect((await handle.query(crawlProgressQuery)).phase).toBe('cancelled');
  });

  // Cancelled while it reads the crawler's state, before asking for a crawl: nothing to stop.
  const early = fakeGlue(crawler, [running]);
  early.activities.getCrawlerState = async (name) => {
    early.calls.push(`getCrawlerState ${name}`);
    const context = Context.current();
    for (;;) {
      context.heartbeat();
      await context.sleep(50);
    }
  };
  await withWorker(env, early.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(crawlWorkflow, {
      taskQueue,
      workflowId: uniqueName('crawl'),
      args: [crawlInput(crawler)],
    });
    await eventually(
      async () => early.calls.length,
      (count) => count === 1,
      { what: 'the first state read' },
    );
    await handle.cancel();
    expect(await failureOf(handle.result())).toBeInstanceOf(CancelledFailure);
    expect(early.calls).toEqual([`getCrawlerState ${crawler}`]);
  });
});
