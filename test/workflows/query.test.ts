import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { QueryActivities } from '../../activities';
import type { StartQueryInput } from '../../activities/athena';
import { ErrorType } from '../../lib/errors';
import { type QueryInput, queryProgressQuery, type QueryState, type QueryStatus } from '../../lib/contracts';
import { queryWorkflow } from '../../workflows/query';
import { uniqueName } from '../helpers/workers';
import { eventually, openWorkflowEnv, timerDurations, withWorker, type WorkflowEnv } from '../helpers/workflow-env';

/**
 * queryWorkflow with mocked Athena activities: each GetQueryExecution answers the next state of a script.
 * Polls start at 50 ms here and double to 200 ms. The activities' own timeouts (1 and 10 minutes) would
 * take minutes in real time and are not exercised; a failed attempt, retried by the same policy, is.
 */

type AthenaActivities = Pick<
  QueryActivities,
  'startQuery' | 'getQueryStatus' | 'stopQuery' | 'fetchQueryResults' | 'namedQueryFor'
>;

/** Fake Athena: a start returns the id of its token (the same token, the same query); polls follow `states`. */
function fakeAthena(states: (QueryState | (() => Promise<Partial<QueryStatus>>))[]) {
  const starts: StartQueryInput[] = [];
  const calls: string[] = [];
  let poll = 0;
  const activities: AthenaActivities = {
    async startQuery(input) {
      starts.push(input);
      calls.push('startQuery');
      return `qe-${input.clientRequestToken}`;
    },
    async getQueryStatus(queryExecutionId) {
      calls.push('getQueryStatus');
      const next = states[Math.min(poll, states.length - 1)]!;
      const status = typeof next === 'function' ? await next() : { state: next };
      poll += 1;
      return {
        queryExecutionId,
        state: 'RUNNING',
        statementType: 'DML',
        outputLocation: `s3://results/${queryExecutionId}.csv`,
        statistics: { totalMs: poll * 10 },
        ...status,
      };
    },
    async stopQuery(queryExecutionId) {
      calls.push(`stopQuery ${queryExecutionId}`);
    },
    async fetchQueryResults(input) {
      calls.push(`fetchQueryResults ${input.maxRows} ${input.statementType}`);
      return { columns: [{ name: 'rows', type: 'bigint' }], rows: [['3080']], truncated: false };
    },
    async namedQueryFor({ database, name, options }) {
      calls.push(`namedQueryFor ${database} ${name} ${options.table}`);
      return {
        name,
        sql: `SELECT symbol FROM ${options.table}`,
        columns: 'symbol=index',
        time: 'the last 60 minutes',
        timeBasis: 'event',
      };
    },
  };
  return { activities, starts, calls };
}

const queryInput = (overrides: Partial<QueryInput> = {}): QueryInput => ({
  sql: 'SELECT count(*) AS rows FROM ticks',
  database: 'ticksync',
  workGroup: 'ticksync',
  outputLocation: 's3://results/',
  maxRows: 100,
  pollInitialMs: 50,
  pollMaxMs: 200,
  ...overrides,
});

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

async function run(fake: ReturnType<typeof fakeAthena>, input: QueryInput) {
  return withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(queryWorkflow, {
      taskQueue,
      workflowId: uniqueName('query'),
      args: [input],
    });
    const outcome = await handle.result().then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    return {
      ...outcome,
      handle,
      progress: await handle.query(queryProgressQuery),
      timers: await timerDurations(handle),
    };
  });
}

const causeOf = (error: unknown) => {
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
};

test('polls with backoff until the query is over, then fetches up to maxRows rows', async () => {
  const fake = fakeAthena(['QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED']);
  const { result, progress, timers } = await run(fake, queryInput());
  const id = fake.starts[0] && `qe-${fake.starts[0].clientRequestToken}`;
  expect(result).toEqual({
    queryExecutionId: id,
    outputLocation: `s3://results/${id}.csv`,
    statementType: 'DML',
    statistics: { totalMs: 50 },
    columns: [{ name: 'rows', type: 'bigint' }],
    rows: [['3080']],
    truncated: false,
  });
  expect(timers).toEqual([50, 100, 200, 200]);
  expect(fake.starts).toEqual([
    {
      ...queryInput(),
      clientRequestToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
    },
  ]);
  expect(fake.calls.at(-1)).toBe('fetchQueryResults 100 DML');
  expect(progress).toMatchObject({ phase: 'SUCCEEDED', polls: 5, queryExecutionId: id });
});

test('a named query is built for the table first, and its SQL runs', async () => {
  const fake = fakeAthena(['SUCCEEDED']);
  const options = { table: 'ticks', minutes: 60, limit: 10, time: 'event' as const };
  const { result } = await run(fake, queryInput({ sql: undefined, named: { name: 'trades', options } }));
  expect(fake.calls[0]).toBe('namedQueryFor ticksync trades ticks');
  expect(fake.starts[0]?.sql).toBe('SELECT symbol FROM ticks');
  expect(result?.named).toMatchObject({ name: 'trades', sql: 'SELECT symbol FROM ticks' });
});

test('an input with neither sql nor a named query fails at once, starting nothing', async () => {
  const fake = fakeAthena(['SUCCEEDED']);
  const { error, progress } = await run(fake, queryInput({ sql: undefined }));
  expect(causeOf(error)).toMatchObject({
    type: ErrorType.InvalidInput,
    message: 'the query input has neither sql nor a named query',
  });
  expect(fake.calls).toEqual([]);
  expect(progress.phase).toBe('FAILED');
});

test.each([
  ['FAILED', ErrorType.QueryFailed, /^query qe-.* failed: SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved$/],
  ['CANCELLED', ErrorType.QueryCancelled, /^query qe-.* was cancelled: SYNTAX_ERROR/],
] as const)('a query that ends %s fails the run, non-retryably, with Athena’s reason', async (state, type, message) => {
  const fake = fakeAthena([
    'RUNNING',
    async () => ({ state, stateChangeReason: "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved" }),
  ]);
  const { error, progress } = await run(fake, queryInput());
  const cause = causeOf(error);
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type, nonRetryable: true });
  expect(cause?.message).toMatch(message);
  expect(progress).toMatchObject({ phase: 'FAILED', polls: 2 });
  expect(progress.error).toMatch(message);
  expect(fake.calls.some((call) => call.startsWith('fetchQueryResults'))).toBe(false);
});

test('a start that fails for a while is retried with the same ClientRequestToken, so one query runs', async () => {
  const fake = fakeAthena(['SUCCEEDED']);
  const start = fake.activities.startQuery;
  fake.activities.startQuery = async (input) => {
    const id = await start(input);
    if (fake.starts.length === 1) throw new Error('socket hang up'); // started, but the answer was lost
    return id;
  };
  const { result, progress } = await run(fake, queryInput());
  expect(fake.starts).toHaveLength(2);
  expect(fake.starts[1]?.clientRequestToken).toBe(fake.starts[0]?.clientRequestToken);
  expect(result?.queryExecutionId).toBe(`qe-${fake.starts[0]?.clientRequestToken}`);
  expect(progress.phase).toBe('SUCCEEDED');
});

test('a status read that fails for a while is retried, and the polling goes on', async () => {
  let failures = 0;
  const fake = fakeAthena([
    'RUNNING',
    async () => {
      if (failures++ === 0) throw new Error('ThrottlingException: Rate exceeded');
      return { state: 'SUCCEEDED' };
    },
  ]);
  const { result, progress } = await run(fake, queryInput());
  expect(failures).toBe(2);
  expect(result?.rows).toEqual([['3080']]);
  expect(progress.polls).toBe(2);
});

test('cancelling the run stops the query it started (found again by its token)', async () => {
  const fake = fakeAthena(['RUNNING']);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(queryWorkflow, {
      taskQueue,
      workflowId: uniqueName('query'),
      args: [queryInput()],
    });
    await eventually(
      () => handle.query(queryProgressQuery),
      (progress) => progress.polls >= 3,
      { what: 'three polls' },
    );
    await handle.cancel();
    expect(causeOf(await handle.result().catch((error: unknown) => error))).toBeInstanceOf(CancelledFailure);
    const id = `qe-${fake.starts[0]?.clientRequestToken}`;
    expect(fake.calls).toContain(`stopQuery ${id}`);
    // The stop asks for the query's id again with the run's token: the same query, not a second one.
    expect(fake.starts).toHaveLength(2);
    expect(new Set(fake.starts.map((start) => start.clientRequestToken)).size).toBe(1);
    expect((await handle.query(queryProgressQuery)).phase).toBe('CANCELLED');
  });
});

test('cancelling the run while the named query is built starts no query', async () => {
  const fake = fakeAthena(['RUNNING']);
  fake.activities.namedQueryFor = async () => {
    fake.calls.push('namedQueryFor');
    const context = Context.current();
    for (;;) {
      context.heartbeat();
      await context.sleep(50);
    }
  };
  const options = { table: 'ticks', minutes: 60, limit: 10, time: 'event' as const };
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(queryWorkflow, {
      taskQueue,
      workflowId: uniqueName('query'),
      args: [queryInput({ sql: undefined, named: { name: 'vwap', options } })],
    });
    await eventually(
      async () => fake.calls.length,
      (count) => count === 1,
      { what: 'the named query build' },
    );
    await handle.cancel();
    expect(causeOf(await handle.result().catch((error: unknown) => error))).toBeInstanceOf(CancelledFailure);
    expect(fake.calls).toEqual(['namedQueryFor']);
  });
});
