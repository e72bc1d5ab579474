import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { IngestActivities } from '../../activities';
import { ErrorType } from '../../lib/errors';
import {
  pauseReplaySignal,
  type ReplayChunkInput,
  type ReplayInput,
  type ReplayMarker,
  type ReplayPlan,
  type ReplayProgress,
  replayProgressQuery,
  resumeReplaySignal,
  setReplayRateSignal,
} from '../../lib/contracts';
import { replayWorkflow } from '../../workflows/replay';
import { replayInputFor } from '../helpers/replay';
import { uniqueName } from '../helpers/workers';
import {
  eventually,
  gate,
  openWorkflowEnv,
  timerDurations,
  withWorker,
  type WorkflowEnv,
} from '../helpers/workflow-env';

/**
 * replayWorkflow with mocked activities (a fake file of `rows` rows, `perChunk` a chunk): pause, resume,
 * setRate, cancel, the retry loop and continue-as-new. The activities themselves: long-activities.test.ts.
 */

type ReplayActivities = Pick<IngestActivities, 'prepareReplay' | 'replayChunk' | 'replayMarker'>;

const PLAN: ReplayPlan = {
  columns: ['symbol', 'price'],
  fields: ['symbol', 'price'],
  numeric: [false, true],
  symbolIndex: 0,
  dataOffset: 13,
  sourceBytes: 13 + 10 * 1000,
  rejectsTopic: 'rejects',
  progressTopic: 'progress',
};

/** The marker after `rows` rows of ten bytes each, all sent. */
const markerAt = (rows: number): ReplayMarker => ({
  rowsRead: rows,
  sent: rows,
  rejected: 0,
  byteOffset: PLAN.dataOffset + rows * 10,
  pass: 0,
  passRow: rows,
});

/**
 * Fake replay activities. `during(call, n)` runs inside the n-th replayChunk call (1-based) before it
 * answers; it may throw, or wait for the test. A chunk stopped by a cancellation leaves `committedOnCancel`
 * rows more committed, which replayMarker then reads.
 */
function fakeReplay(rows: number, perChunk: number, during?: (call: ReplayChunkInput, n: number) => Promise<void>) {
  const calls: ReplayChunkInput[] = [];
  let committed = 0;
  let prepared = 0;
  const activities: ReplayActivities = {
    async prepareReplay() {
      prepared += 1;
      return PLAN;
    },
    async replayChunk(call) {
      calls.push(call);
      committed = call.committed.rowsRead;
      await during?.(call, calls.length);
      committed = Math.min(rows, committed + perChunk);
      return { marker: markerAt(committed), done: committed >= rows, elapsedMs: 100 };
    },
    async replayMarker() {
      return markerAt(committed);
    },
  };
  return {
    activities,
    calls,
    prepared: () => prepared,
    /** Commits `n` rows inside the running chunk (as a transaction would). */
    commit: (n: number) => (committed += n),
  };
}

/** Heartbeats until the activity is cancelled, then rethrows the cancellation (a chunk stopping at its last commit). */
async function untilCancelled(): Promise<never> {
  const context = Context.current();
  for (;;) {
    context.heartbeat();
    await context.sleep(50);
  }
}

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

const input = (overrides: Partial<ReplayInput> = {}) => replayInputFor('/fake/ticks.csv', overrides);

async function start(taskQueue: string, args: ReplayInput) {
  return env.client.workflow.start(replayWorkflow, { taskQueue, workflowId: uniqueName('replay'), args: [args] });
}

const progressOf = (handle: { query: (q: typeof replayProgressQuery) => Promise<ReplayProgress> }) =>
  handle.query(replayProgressQuery);

test('runs chunk after chunk, each from the marker the last one committed, to the end of the file', async () => {
  const fake = fakeReplay(30, 10);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input());
    expect(await handle.result()).toMatchObject({ rowsRead: 30, sent: 30, rejected: 0 });
    expect(fake.calls.map((call) => call.committed.rowsRead)).toEqual([0, 10, 20]);
    expect(fake.prepared()).toBe(1);
    expect(await progressOf(handle)).toMatchObject({ status: 'completed', fraction: 1, rowsRead: 30, retries: 0 });
  });
});

test('a pause stops the running chunk at its last commit; resume carries on from that marker', async () => {
  const cancelledChunks: number[] = [];
  const fake = fakeReplay(30, 10, async (_, n) => {
    if (n !== 2) return;
    fake.commit(5);
    try {
      await untilCancelled();
    } catch (error) {
      cancelledChunks.push(n);
      throw error;
    }
  });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input());
    await eventually(
      async () => fake.calls.length,
      (count) => count === 2,
      { what: 'the second chunk' },
    );
    await handle.signal(pauseReplaySignal);
    const paused = await eventually(
      () => progressOf(handle),
      (progress) => progress.status === 'paused',
      { what: 'status paused' },
    );
    expect(cancelledChunks).toEqual([2]);
    // The marker read back after the stop: the chunk's 5 committed rows count, the rest of it never ran.
    expect(paused).toMatchObject({ rowsRead: 15, sent: 15, rowsPerSecond: 0 });
    expect(Date.parse(paused.pausedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // Paused: no new chunk starts.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(fake.calls).toHaveLength(2);

    await handle.signal(resumeReplaySignal);
    expect(await handle.result()).toMatchObject({ rowsRead: 30, sent: 30 });
    expect(fake.calls.map((call) => call.committed.rowsRead)).toEqual([0, 10, 15, 25]);
    const done = await progressOf(handle);
    expect(done.pausedAt).toBeUndefined();
    expect(done.status).toBe('completed');
  });
});

test('setRate paces the next chunk; a rate that is not above 0 is logged and ignored', async () => {
  const first = gate();
  const fake = fakeReplay(20, 10, async (_, n) => (n === 1 ? first.wait : undefined));
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input({ pacing: { kind: 'rate', rowsPerSecond: 100 } }));
    await eventually(
      async () => fake.calls.length,
      (count) => count === 1,
      { what: 'the first chunk' },
    );
    const logged = env.logs.length;
    await handle.signal(setReplayRateSignal, 250);
    await handle.signal(setReplayRateSignal, -1);
    await handle.signal(setReplayRateSignal, 0);
    await eventually(
      async () => env.logs.slice(logged).filter((entry) => entry.message.startsWith('setRate ignored')).length,
      (count) => count === 2,
      { what: 'two ignored rates in the log' },
    );
    expect((await progressOf(handle)).targetRowsPerSecond).toBe(250);
    first.open();
    await handle.result();
    expect(fake.calls.map((call) => call.rowsPerSecond)).toEqual([100, 250]);
  });
});

test('cancelling the run waits until the running chunk has stopped, then reports cancelled', async () => {
  let chunkStoppedAt: number | undefined;
  const fake = fakeReplay(30, 10, async () => {
    try {
      await untilCancelled();
    } finally {
      // The chunk settles its transaction in flight before it stops: the run's cancellation waits for this.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      chunkStoppedAt = Date.now();
    }
  });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input());
    await eventually(
      async () => fake.calls.length,
      (count) => count === 1,
      { what: 'the first chunk' },
    );
    await handle.cancel();
    const error = await handle.result().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const closedAt = (await handle.describe()).closeTime?.getTime() ?? 0;
    expect(chunkStoppedAt).toBeDefined();
    expect(chunkStoppedAt!).toBeLessThanOrEqual(closedAt + 100);
    expect((await progressOf(handle)).status).toBe('cancelled');
  });
});

test('a transient failure is retried after a backoff, shown as retrying in the progress query', async () => {
  const second = gate();
  const fake = fakeReplay(20, 10, async (_, n) => {
    if (n === 1) throw new Error('the broker went away');
    if (n === 2) await second.wait;
  });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input());
    const retrying = await eventually(
      () => progressOf(handle),
      (progress) => progress.status === 'retrying' && fake.calls.length === 2,
      { what: 'the retry attempt' },
    );
    expect(retrying).toMatchObject({ retries: 1, lastError: 'the broker went away', rowsRead: 0 });
    second.open();
    expect(await handle.result()).toMatchObject({ rowsRead: 20 });
    const done = await progressOf(handle);
    expect(done).toMatchObject({ status: 'completed', retries: 1 });
    expect(done.lastError).toBeUndefined();
    // The same chunk again, from the same marker, after the first backoff (1 s).
    expect(fake.calls.map((call) => call.committed.rowsRead)).toEqual([0, 0, 10]);
    expect(await timerDurations(handle)).toEqual([1000]);
  });
});

test('a chunk that stops heartbeating times out after 10 s and is retried like any transient failure', async () => {
  // The first attempt hangs without a heartbeat, as on a worker that froze; it is let go when the test ends.
  const hung = gate();
  const fake = fakeReplay(20, 10, async (_, n) => (n === 1 ? hung.wait : undefined));
  try {
    await withWorker(env, fake.activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      expect(await handle.result()).toMatchObject({ rowsRead: 20 });
      expect(fake.calls.map((call) => call.committed.rowsRead)).toEqual([0, 0, 10]);
      const progress = await progressOf(handle);
      expect(progress).toMatchObject({ status: 'completed', retries: 1 });
      // The timeout is the run's to see: it fails the attempt, and the workflow's own loop retries it.
      const history = await handle.fetchHistory();
      const timedOut = history.events?.filter((event) => event.activityTaskTimedOutEventAttributes) ?? [];
      expect(timedOut).toHaveLength(1);
      expect(timedOut[0]?.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType).toBe(
        temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      );
      hung.open();
    });
  } finally {
    hung.open();
  }
});

test.each([
  ['non-retryable', () => ApplicationFailure.nonRetryable('column price is missing', ErrorType.InvalidInput)],
  [
    'of a non-retryable type',
    () => ApplicationFailure.create({ type: ErrorType.NotFound, message: 'column price is missing' }),
  ],
])('a permanent failure (%s) fails the run at once, without a retry', async (_, failure) => {
  const fake = fakeReplay(20, 10, async () => {
    throw failure();
  });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input());
    const error = await handle.result().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const activity = (error as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect((activity as ActivityFailure).cause).toMatchObject({ message: 'column price is missing' });
    expect(fake.calls).toHaveLength(1);
    expect(await progressOf(handle)).toMatchObject({ status: 'failed', retries: 0 });
  });
});

test('continues as new after chunksPerRun chunks, carrying the marker, plan, rate and retry count', async () => {
  const first = gate();
  const fake = fakeReplay(50, 10, async (_, n) => {
    if (n === 1) throw new Error('leader not available');
    if (n === 2) await first.wait;
  });
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await start(taskQueue, input({ chunksPerRun: 2, pacing: { kind: 'rate', rowsPerSecond: 100 } }));
    await eventually(
      async () => fake.calls.length,
      (count) => count === 2,
      { what: 'the retried first chunk' },
    );
    await handle.signal(setReplayRateSignal, 300);
    await eventually(
      () => progressOf(handle),
      (progress) => progress.targetRowsPerSecond === 300,
      { what: 'the new rate' },
    );
    first.open();
    expect(await handle.result()).toMatchObject({ rowsRead: 50, sent: 50 });

    // 5 chunks in three runs (2, 2, 1): the plan was prepared once, each chunk went on from the last marker.
    expect(fake.prepared()).toBe(1);
    expect(fake.calls.map((call) => call.committed.rowsRead)).toEqual([0, 0, 10, 20, 30, 40]);
    expect(fake.calls.map((call) => call.plan)).toEqual(Array(6).fill(PLAN));
    expect(fake.calls.slice(1).map((call) => call.rowsPerSecond)).toEqual([100, 300, 300, 300, 300]);
    const first_ = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first_.status.name).toBe('CONTINUED_AS_NEW');
    const last = await handle.describe();
    expect(last.runId).not.toBe(handle.firstExecutionRunId);
    expect(await progressOf(handle)).toMatchObject({ status: 'completed', retries: 1, rowsRead: 50 });
  });
});
