import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { IngestActivities } from '../../activities';
import { ErrorType } from '../../lib/errors';
import {
  type ConsumerInput,
  consumerProgressQuery,
  emptyTotals,
  flushNowSignal,
  type MemberCommand,
  type MemberReport,
  memberReportUpdate,
  type PartitionStatus,
  pauseConsumerSignal,
  resumeConsumerSignal,
  stopConsumerSignal,
} from '../../lib/contracts';
import { consumerWorkflow } from '../../workflows/consumer';
import { uniqueName } from '../helpers/workers';
import { eventually, openWorkflowEnv, withWorker, type WorkflowEnv } from '../helpers/workflow-env';

/**
 * consumerWorkflow with mocked members: each reports every 100 ms through the memberReport update, as the
 * real member does (one record a report), until it is cancelled. Member 2 reports its partition in its first
 * execution only, so that only the state carried across continue-as-new keeps it. A small maxHistoryEvents
 * makes the run continue as new every few seconds. The real member: long-activities.test.ts.
 */

interface Delivered extends MemberCommand {
  runId: string;
  member: number;
  partitions: PartitionStatus[];
}

function fakeMembers(env: WorkflowEnv, failure?: (member: number, attempt: number) => Error | undefined) {
  const delivered: Delivered[] = [];
  const cancelled: number[] = [];
  const attempts = new Map<number, number>();
  const activities: Pick<IngestActivities, 'consumeAndFlush'> = {
    async consumeAndFlush({ workflowId, member }) {
      const context = Context.current();
      // A member runs for its workflow's run: reports go to that run only (they would otherwise reach the next).
      const runId = context.info.workflowExecution?.runId ?? '';
      const attempt = (attempts.get(member) ?? 0) + 1;
      attempts.set(member, attempt);
      const handle = env.client.workflow.getHandle(workflowId, runId);
      try {
        for (let reports = 1; ; reports++) {
          context.heartbeat();
          const status: PartitionStatus = {
            partition: member - 1,
            committed: reports,
            highWatermark: reports,
            lag: 0,
            buffered: 0,
            member,
            reportedAt: new Date().toISOString(),
          };
          const report: MemberReport = {
            member,
            partitions: member === 2 && attempt > 1 ? [] : [status],
            delta: { ...emptyTotals(), records: 1, objects: 1, bytes: 10, segments: 1 },
          };
          // A report the run did not take (it was closing) is not counted.
          const command = await handle.executeUpdate(memberReportUpdate, { args: [report] }).catch(() => undefined);
          if (command) delivered.push({ runId, member, partitions: report.partitions, ...command });
          const error = failure?.(member, attempt);
          if (error) throw error;
          await context.sleep(100);
        }
      } catch (error) {
        if (context.cancellationSignal.aborted) cancelled.push(member);
        throw error;
      }
    },
  };
  return { activities, delivered, cancelled };
}

const consumerInput = (overrides: Partial<ConsumerInput> = {}): ConsumerInput => ({
  topic: uniqueName('ticks'),
  groupId: uniqueName('group'),
  members: 2,
  flush: { maxRecords: 1000, maxBytes: 1 << 20, maxAgeMs: 1000 },
  maxRecordBytes: 1 << 20,
  maxBufferedBytes: 64 << 20,
  reportSeconds: 1,
  maxHistoryEvents: 60,
  ...overrides,
});

/** The run ids in the order the members first reported to them. */
const runsOf = (delivered: Delivered[]) => [...new Set(delivered.map(({ runId }) => runId))];

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

test('continues as new with its totals, partitions, pause and flush requests; stop ends it with every report counted', async () => {
  const fake = fakeMembers(env);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const workflowId = uniqueName('consumer');
    const handle = await env.client.workflow.start(consumerWorkflow, {
      taskQueue,
      workflowId,
      args: [consumerInput()],
    });
    await eventually(
      async () => fake.delivered.length,
      (count) => count > 0,
      { what: 'a first report' },
    );
    await handle.signal(pauseConsumerSignal);
    await handle.signal(flushNowSignal);
    await handle.signal(flushNowSignal);
    const pausedIn = await eventually(
      async () => fake.delivered.find((command) => command.paused && command.flushRequests === 2)?.runId,
      (runId) => runId !== undefined,
      { what: 'a report answered with the pause' },
    );
    // Two runs later, the members are still told to pause and what flush requests there were.
    await eventually(
      async () => runsOf(fake.delivered).length,
      (runs) => runs >= runsOf(fake.delivered).indexOf(pausedIn!) + 3,
      { what: 'two more runs', timeoutMs: 60_000 },
    );
    const laterRuns = runsOf(fake.delivered).slice(runsOf(fake.delivered).indexOf(pausedIn!) + 1);
    const later = fake.delivered.filter(({ runId }) => laterRuns.includes(runId));
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((command) => command.paused && command.flushRequests === 2)).toBe(true);
    const paused = await handle.query(consumerProgressQuery);
    expect(paused.status).toBe('paused');
    expect(paused.runs).toBeGreaterThanOrEqual(3);

    const mark = fake.delivered.length;
    await handle.signal(resumeConsumerSignal);
    const resumedIn = await eventually(
      async () => fake.delivered.slice(mark).find((command) => !command.paused)?.runId,
      (runId) => runId !== undefined,
      { what: 'a report answered with the resume' },
    );
    await eventually(
      async () => runsOf(fake.delivered).length,
      (runs) => runs >= runsOf(fake.delivered).indexOf(resumedIn!) + 2,
      { what: 'a run after the resume', timeoutMs: 60_000 },
    );
    const afterResume = runsOf(fake.delivered).slice(runsOf(fake.delivered).indexOf(resumedIn!) + 1);
    expect(fake.delivered.filter(({ runId }) => afterResume.includes(runId)).every((command) => !command.paused)).toBe(
      true,
    );

    await handle.signal(stopConsumerSignal);
    const result = await handle.result();
    // Every report a run took is in the totals once: nothing lost or counted twice across the runs.
    const reports = fake.delivered.length;
    expect(result.totals).toEqual({
      records: reports,
      deadLetters: 0,
      objects: reports,
      bytes: 10 * reports,
      segments: reports,
    });
    // Partition 1 as member 2 last reported it, in the first run: carried over by every run since.
    const lastOf = (partition: number) =>
      fake.delivered
        .flatMap(({ partitions }) => partitions)
        .filter((status) => status.partition === partition)
        .at(-1);
    expect(result.partitions).toEqual([lastOf(0), lastOf(1)]);
    const reportedPartition1 = fake.delivered.filter(({ partitions }) =>
      partitions.some(({ partition }) => partition === 1),
    );
    expect(new Set(reportedPartition1.map(({ runId }) => runId))).toEqual(new Set([handle.firstExecutionRunId]));
    const progress = await handle.query(consumerProgressQuery);
    expect(progress).toMatchObject({ status: 'stopped', members: 2 });
    expect(progress.runs).toBe(runsOf(fake.delivered).length);
    const first = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  });
});

test('a stop while runs turn over every second ends the consumer, every report counted once', async () => {
  const fake = fakeMembers(env);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(consumerWorkflow, {
      taskQueue,
      workflowId: uniqueName('consumer'),
      args: [consumerInput({ maxHistoryEvents: 30 })],
    });
    // Runs turn over about every second here: a stop lands in a run, whichever.
    await eventually(
      async () => runsOf(fake.delivered).length,
      (runs) => runs >= 2,
      { what: 'a second run' },
    );
    await handle.signal(stopConsumerSignal);
    const result = await handle.result();
    expect(result.totals.records).toBe(fake.delivered.length);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });
});

test('a member failing for good fails the run, and the other member is stopped', async () => {
  const fake = fakeMembers(env, (member) =>
    member === 2 ? ApplicationFailure.nonRetryable('SASL authentication failed', ErrorType.ClientFault) : undefined,
  );
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(consumerWorkflow, {
      taskQueue,
      workflowId: uniqueName('consumer'),
      args: [consumerInput({ maxHistoryEvents: 10_000 })],
    });
    const error = await handle.result().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const activity = (error as WorkflowFailedError).cause as ActivityFailure;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect(activity.cause).toMatchObject({ type: ErrorType.ClientFault, message: 'SASL authentication failed' });
    expect(fake.cancelled).toEqual([1]);
    expect((await handle.query(consumerProgressQuery)).status).toBe('failed');
  });
});

test('a member failing for a while is started again and the run goes on', async () => {
  const fake = fakeMembers(env, (member, attempt) =>
    member === 2 && attempt === 1 ? new Error('the broker went away') : undefined,
  );
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(consumerWorkflow, {
      taskQueue,
      workflowId: uniqueName('consumer'),
      args: [consumerInput({ maxHistoryEvents: 10_000 })],
    });
    // Its second attempt (after the 1 s retry interval) reports again in the same run.
    await eventually(
      async () => fake.delivered.filter(({ member }) => member === 2).length,
      (count) => count >= 3,
      { what: 'member 2 reporting again' },
    );
    expect(runsOf(fake.delivered)).toHaveLength(1);
    await handle.signal(stopConsumerSignal);
    expect((await handle.result()).totals.records).toBe(fake.delivered.length);
  });
});
