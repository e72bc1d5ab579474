import { Context } from '@temporalio/activity';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import type { CatalogActivities, IngestActivities, QueryActivities } from '../../activities';
import { createPipelineActivities } from '../../activities/pipeline';
import { ErrorType } from '../../lib/errors';
import { NAMED_QUERY_NAMES } from '../../lib/queries';
import {
  emptyTotals,
  type MemberReport,
  memberReportUpdate,
  type PipelineInput,
  pipelineProgressQuery,
  stopConsumerSignal,
} from '../../lib/contracts';
import { pipelineWorkflow } from '../../workflows/pipeline';
import { testKafka } from '../helpers/kafka';
import { replayInputFor } from '../helpers/replay';
import { uniqueName } from '../helpers/workers';
import { eventually, failureOf, openWorkflowEnv, withWorker, type WorkflowEnv } from '../helpers/workflow-env';

/**
 * pipelineWorkflow and its children (the real consumer, replay, crawl and query workflows) with mocked
 * activities, all on one task queue. The wait for the consumer is the real activity (it queries the
 * consumer workflow); the consumer's members are mocks that report one partition as `lag` behind.
 */

const ROWS = 10;
const STARTED = '2026-01-02T00:00:00.000Z';

type Mocked = Pick<
  IngestActivities,
  'prepareReplay' | 'replayChunk' | 'replayMarker' | 'consumeAndFlush' | 'topicEndOffsets'
> &
  Pick<
    CatalogActivities,
    'getCrawlerState' | 'snapshotCatalog' | 'startCrawler' | 'stopCrawler' | 'describeCrawlChanges'
  > &
  Pick<
    QueryActivities,
    'namedQueryFor' | 'startQuery' | 'getQueryStatus' | 'fetchQueryResults' | 'stopQuery' | 'compactedHours'
  >;

function fakeStages(env: WorkflowEnv, { lag = 0, crawl = 'SUCCEEDED' as 'SUCCEEDED' | 'FAILED' } = {}) {
  const calls: string[] = [];
  let crawlerReads = 0;
  const mocked: Mocked = {
    async prepareReplay() {
      calls.push('prepareReplay');
      return {
        columns: ['symbol'],
        fields: ['symbol'],
        numeric: [false],
        symbolIndex: 0,
        dataOffset: 7,
        sourceBytes: 7 + ROWS * 4,
        rejectsTopic: 'rejects',
        progressTopic: 'progress',
      };
    },
    async replayChunk({ plan }) {
      calls.push('replayChunk');
      const marker = { rowsRead: ROWS, sent: ROWS, rejected: 0, byteOffset: plan.sourceBytes, pass: 0, passRow: ROWS };
      return { marker, done: true, elapsedMs: 10 };
    },
    async replayMarker() {
      throw new Error('not used');
    },
    async consumeAndFlush({ workflowId, member }) {
      const context = Context.current();
      const handle = env.client.workflow.getHandle(workflowId);
      for (;;) {
        context.heartbeat();
        const report: MemberReport = {
          member,
          partitions: [
            {
              partition: 0,
              committed: ROWS - lag,
              highWatermark: ROWS,
              lag,
              buffered: 0,
              member,
              reportedAt: new Date().toISOString(),
            },
          ],
          delta: { ...emptyTotals(), records: 1, objects: 1 },
        };
        await handle.executeUpdate(memberReportUpdate, { args: [report] }).catch(() => undefined);
        await context.sleep(100);
      }
    },
    async topicEndOffsets(topic) {
      calls.push(`topicEndOffsets ${topic}`);
      return [{ partition: 0, endOffset: ROWS }];
    },
    async getCrawlerState(crawler) {
      calls.push('getCrawlerState');
      const lastCrawl =
        crawlerReads++ === 0
          ? { status: 'SUCCEEDED' as const, startTime: '2026-01-01T00:00:00.000Z' }
          : { status: crawl, startTime: STARTED, errorMessage: 'Internal service error' };
      return { crawler, state: 'READY', databases: ['ticksync'], lastCrawl };
    },
    async snapshotCatalog() {
      return { tables: {} };
    },
    async startCrawler(crawler) {
      calls.push('startCrawler');
      return { crawler, outcome: 'started', startTime: STARTED, previousCrawlStartTime: '2026-01-01T00:00:00.000Z' };
    },
    async stopCrawler() {
      return { stopped: true };
    },
    async describeCrawlChanges() {
      return { tablesCreated: [], tablesUpdated: ['ticksync.ticks'], partitionsAdded: {}, columnsAdded: {} };
    },
    async namedQueryFor({ name, options }) {
      return { name, sql: `SELECT '${name}' FROM ${options.table}`, columns: '', time: '', timeBasis: 'event' };
    },
    async startQuery({ sql }) {
      calls.push(`startQuery ${sql}`);
      return Buffer.from(sql).toString('base64url');
    },
    async getQueryStatus(queryExecutionId) {
      return { queryExecutionId, state: 'SUCCEEDED', statementType: 'DML', statistics: {} };
    },
    async fetchQueryResults({ queryExecutionId }) {
      const sql = Buffer.from(queryExecutionId, 'base64url').toString();
      if (sql.startsWith('SELECT count(*)')) return { columns: [], rows: [[String(ROWS)]], truncated: false };
      if (sql.startsWith('SHOW PARTITIONS')) return { columns: [], rows: [['dt=a'], ['dt=b']], truncated: false };
      return { columns: [{ name: 'x', type: 'varchar' }], rows: [['1']], truncated: false };
    },
    async stopQuery() {},
    async compactedHours() {
      return ['2026010100'];
    },
  };
  // The wait for the consumer and its progress: the real activities, on the real consumer workflow.
  const { consumerProgress, waitForConsumerFlushed } = createPipelineActivities({
    kafka: testKafka(env.config),
    temporal: env.client,
  });
  return { activities: { ...mocked, consumerProgress, waitForConsumerFlushed }, calls };
}

function pipelineInput(taskQueue: string, consumerWorkflowId = uniqueName('consumer')): PipelineInput {
  const replay = replayInputFor('/fake/ticks.csv');
  return {
    replay,
    consumer: {
      topic: replay.topic,
      groupId: uniqueName('group'),
      members: 1,
      flush: { maxRecords: 1000, maxBytes: 1 << 20, maxAgeMs: 1000 },
      maxRecordBytes: 1 << 20,
      maxBufferedBytes: 64 << 20,
      reportSeconds: 1,
      maxHistoryEvents: 10_000,
    },
    consumerWorkflowId,
    crawl: { crawler: 'ticksync-crawler', pollInitialSeconds: 0.1, pollMaxSeconds: 0.2 },
    query: {
      table: 'ticks',
      minutes: 60,
      limit: 10,
      time: 'event',
      database: 'ticksync',
      workGroup: 'ticksync',
      outputLocation: 's3://results/',
    },
    taskQueues: { ingest: taskQueue, catalog: taskQueue, query: taskQueue },
    workflowsUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/',
  };
}

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

/** Ends the consumer a pipeline left running (it outlives the pipeline by design). */
async function stopConsumer(workflowId: string) {
  await env.client.workflow
    .getHandle(workflowId)
    .terminate('test over')
    .catch(() => undefined);
}

test('runs the stages in order, each a child workflow, and reports them; a second run joins the consumer', async () => {
  const fake = fakeStages(env);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const input = pipelineInput(taskQueue);
    try {
      const workflowId = uniqueName('pipeline');
      const report = await env.client.workflow.execute(pipelineWorkflow, { taskQueue, workflowId, args: [input] });
      expect(report.stages.slice(0, 4).map(({ stage, workflowId: id }) => [stage, id])).toEqual([
        ['consumer', input.consumerWorkflowId],
        ['replay', `replay-${input.replay.runId}`],
        ['flush', input.consumerWorkflowId],
        ['crawl', `${workflowId}-crawl`],
      ]);
      expect(
        report.stages
          .slice(4)
          .map(({ stage }) => stage)
          .sort(),
      ).toEqual(['query run-rows', 'query partitions', ...NAMED_QUERY_NAMES.map((name) => `query ${name}`)].sort());
      expect(report).toMatchObject({
        runId: input.replay.runId,
        replay: { sent: ROWS, rowsRead: ROWS },
        consumer: { workflowId: input.consumerWorkflowId, joined: false },
        crawl: { status: 'SUCCEEDED', tablesUpdated: ['ticksync.ticks'] },
        catalog: { table: 'ticksync.ticks', partitions: 2, compacted: ['2026010100'] },
        lakeRows: ROWS,
      });
      expect(report.queries.map(({ name }) => name)).toEqual(NAMED_QUERY_NAMES);
      expect(report.stages[1]?.url).toBe(`${input.workflowsUrl}replay-${encodeURIComponent(input.replay.runId)}`);
      // Each stage began after the one before it ended.
      const first = (prefix: string) => fake.calls.findIndex((call) => call.startsWith(prefix));
      expect(first('prepareReplay')).toBeLessThan(first('topicEndOffsets'));
      expect(first('topicEndOffsets')).toBeLessThan(first('startCrawler'));
      expect(first('startCrawler')).toBeLessThan(first('startQuery'));
      // The run's rows are counted in the partitions written since it started, for its run id only.
      const startedAt = (await env.client.workflow.getHandle(workflowId).describe()).startTime.getTime();
      const hourKey = (ms: number) => new Date(ms).toISOString().replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}).*$/, '$1$2');
      const countSql = fake.calls.find((call) => call.startsWith('startQuery SELECT count(*)'));
      const since =
        /^startQuery SELECT count\(\*\) AS rows FROM ticks WHERE dt \|\| hour >= '(.*)' AND run_id = '(.*)'$/.exec(
          countSql ?? '',
        );
      // The hour the workflow's first task ran in (the start's, or the next when the start was at its end).
      expect([hourKey(startedAt), hourKey(startedAt + 60_000)]).toContain(since?.[1]);
      expect(since?.[2]).toBe(input.replay.runId);
      // The consumer outlives the pipeline, and the next run joins it.
      expect((await env.client.workflow.getHandle(input.consumerWorkflowId).describe()).status.name).toBe('RUNNING');
      const second = await env.client.workflow.execute(pipelineWorkflow, {
        taskQueue,
        workflowId: uniqueName('pipeline'),
        args: [{ ...input, replay: { ...input.replay, runId: uniqueName('run') } }],
      });
      expect(second.consumer.joined).toBe(true);
    } finally {
      await stopConsumer(input.consumerWorkflowId);
    }
  });
});

test('a failed stage fails the run, naming its workflow; no later stage runs', async () => {
  const fake = fakeStages(env, { crawl: 'FAILED' });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const input = pipelineInput(taskQueue);
    try {
      const workflowId = uniqueName('pipeline');
      const handle = await env.client.workflow.start(pipelineWorkflow, { taskQueue, workflowId, args: [input] });
      const cause = await failureOf(handle.result());
      expect(cause).toBeInstanceOf(ChildWorkflowFailure);
      const child = cause as ChildWorkflowFailure;
      expect(child.workflowType).toBe('crawlWorkflow');
      expect(child.execution.workflowId).toBe(`${workflowId}-crawl`);
      expect(child.cause).toBeInstanceOf(ApplicationFailure);
      expect(child.cause).toMatchObject({ type: ErrorType.CrawlFailed });
      expect(child.cause?.message).toMatch(/^crawler ticksync-crawler failed: Internal service error$/);
      const progress = await handle.query(pipelineProgressQuery);
      expect(progress.phase).toBe('crawling');
      expect(progress.stages.map(({ stage }) => stage)).toEqual(['consumer', 'replay', 'flush']);
      expect(fake.calls.some((call) => call.startsWith('startQuery'))).toBe(false);
    } finally {
      await stopConsumer(input.consumerWorkflowId);
    }
  });
});

test('a consumer that stops before writing what the replay sent fails the run with ConsumerStopped', async () => {
  const fake = fakeStages(env, { lag: 4 });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const input = pipelineInput(taskQueue);
    try {
      const handle = await env.client.workflow.start(pipelineWorkflow, {
        taskQueue,
        workflowId: uniqueName('pipeline'),
        args: [input],
      });
      await eventually(
        () => handle.query(pipelineProgressQuery),
        (progress) => progress.phase === 'flushing',
        { what: 'the flush wait' },
      );
      await env.client.workflow.getHandle(input.consumerWorkflowId).signal(stopConsumerSignal);
      const cause = await failureOf(handle.result());
      expect(cause).toBeInstanceOf(ActivityFailure);
      expect((cause as ActivityFailure).activityType).toBe('waitForConsumerFlushed');
      const stopped = (cause as ActivityFailure).cause;
      expect(stopped).toMatchObject({ type: ErrorType.ConsumerStopped, nonRetryable: true });
      // Stopping or stopped, whichever the wait's poll saw first.
      expect(stopped?.message).toMatch(
        new RegExp(
          `^the consumer ${input.consumerWorkflowId} is stopp(ing|ed) with 4 records not yet in S3: ` +
            'start it again \\(npm run consume\\) and rerun the pipeline$',
        ),
      );
      expect(fake.calls.some((call) => call.startsWith('startCrawler'))).toBe(false);
    } finally {
      await stopConsumer(input.consumerWorkflowId);
    }
  });
});
