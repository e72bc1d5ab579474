import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { CompactActivities } from '../../activities';
import { ErrorType } from '../../lib/errors';
import {
  compactProgressQuery,
  type CompactHourInput,
  type CompactInput,
  type HourCompaction,
  type LakeHour,
} from '../../lib/contracts';
import { compactWorkflow } from '../../workflows/compact';
import { uniqueName } from '../helpers/workers';
import { eventually, failureOf, gate, openWorkflowEnv, withWorker, type WorkflowEnv } from '../helpers/workflow-env';

/**
 * compactWorkflow with mocked compact activities (the activities themselves run against the real stack in
 * test/integration/compact.test.ts): which hours it asks for, what it compacts in which order, what it
 * reports, a failed attempt retried (the activity's retry policy, 1 s first backoff, in real time), and a
 * cancellation while an hour is being compacted.
 */

type Activities = Pick<CompactActivities, 'closedHours' | 'compactHour'>;

const HOURS: LakeHour[] = [
  { dt: '2026-01-01', hour: '22' },
  { dt: '2026-01-01', hour: '23' },
  { dt: '2026-01-02', hour: '00' },
];

const compacted = (input: CompactHourInput, outcome: HourCompaction['outcome'] = 'published'): HourCompaction => ({
  dt: input.dt,
  hour: input.hour,
  outcome,
  rawObjects: 2,
  records: outcome === 'empty' ? 0 : 100,
  files: outcome === 'empty' ? 0 : 1,
  bytes: outcome === 'empty' ? 0 : 4096,
  deadLetters: 0,
  location: `s3://lake/curated/${input.table}/dt=${input.dt}/hour=${input.hour}/v=0123456789abcdef/`,
});

function fakeCompaction(hours: LakeHour[]) {
  const calls: string[] = [];
  const activities: Activities = {
    async closedHours(input) {
      calls.push(
        `closedHours ${input.database}.${input.table} grace=${input.graceMinutes} back=${input.lookbackHours}`,
      );
      return input.hours ?? hours;
    },
    async compactHour(input) {
      calls.push(`compactHour dt=${input.dt}/hour=${input.hour} ${input.targetMb}MB`);
      return compacted(input);
    },
  };
  return { activities, calls };
}

let env: WorkflowEnv;
beforeAll(async () => (env = await openWorkflowEnv()));
afterAll(() => env?.close());

const input = (rest: Partial<CompactInput> = {}): CompactInput => ({
  database: 'ticksync',
  table: 'ticks',
  graceMinutes: 15,
  lookbackHours: 48,
  targetMb: 128,
  ...rest,
});

test('compacts each closed hour found, oldest first, one after another, and reports each', async () => {
  const fake = fakeCompaction(HOURS);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input()],
    });
    const result = await handle.result();
    expect(result.hours.map(({ dt, hour, outcome }) => `${dt}T${hour} ${outcome}`)).toEqual([
      '2026-01-01T22 published',
      '2026-01-01T23 published',
      '2026-01-02T00 published',
    ]);
    expect(fake.calls).toEqual([
      'closedHours ticksync.ticks grace=15 back=48',
      'compactHour dt=2026-01-01/hour=22 128MB',
      'compactHour dt=2026-01-01/hour=23 128MB',
      'compactHour dt=2026-01-02/hour=00 128MB',
    ]);
    expect(await handle.query(compactProgressQuery)).toEqual({ hours: HOURS, done: result.hours });
  });
});

test('hours named in the input are the ones compacted (closedHours checks them), with the target size', async () => {
  const fake = fakeCompaction(HOURS);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const result = await env.client.workflow.execute(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input({ hours: [HOURS[1]!], targetMb: 8 })],
    });
    expect(result.hours).toHaveLength(1);
    expect(fake.calls).toEqual([
      'closedHours ticksync.ticks grace=15 back=48',
      'compactHour dt=2026-01-01/hour=23 8MB',
    ]);
  });
});

test('nothing to do: no closed hour, no compactHour, an empty result', async () => {
  const fake = fakeCompaction([]);
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input()],
    });
    expect(await handle.result()).toEqual({ hours: [] });
    expect(fake.calls).toEqual(['closedHours ticksync.ticks grace=15 back=48']);
    expect(await handle.query(compactProgressQuery)).toEqual({ hours: [], done: [] });
  });
});

test('a failed compactHour attempt is retried and the run goes on; a non-retryable one fails the run', async () => {
  const fake = fakeCompaction(HOURS.slice(0, 2));
  let attempts = 0;
  fake.activities.compactHour = async (hour) => {
    fake.calls.push(`compactHour dt=${hour.dt}/hour=${hour.hour} attempt ${Context.current().info.attempt}`);
    if (hour.hour === '22' && attempts++ === 0) throw new Error('SlowDown: reduce your request rate');
    return compacted(hour);
  };
  await withWorker(env, fake.activities, async (taskQueue) => {
    const result = await env.client.workflow.execute(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input()],
    });
    expect(result.hours.map((hour) => hour.outcome)).toEqual(['published', 'published']);
    expect(fake.calls.slice(1)).toEqual([
      'compactHour dt=2026-01-01/hour=22 attempt 1',
      'compactHour dt=2026-01-01/hour=22 attempt 2',
      'compactHour dt=2026-01-01/hour=23 attempt 1',
    ]);
  });

  // A client fault (here: an hour not closed yet) is not retried: the run fails with the activity's type.
  const bad = fakeCompaction(HOURS);
  bad.activities.closedHours = async () => {
    bad.calls.push('closedHours');
    throw ApplicationFailure.nonRetryable('hour dt=2026-01-02/hour=00 is not closed yet', ErrorType.InvalidInput);
  };
  await withWorker(env, bad.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input({ hours: [HOURS[2]!] })],
    });
    const cause = await failureOf(handle.result());
    expect(cause).toMatchObject({ type: ErrorType.InvalidInput, message: expect.stringContaining('not closed yet') });
    expect(bad.calls).toEqual(['closedHours']);
  });
});

test('cancelling the run while an hour compacts cancels that activity and compacts no further hour', async () => {
  const fake = fakeCompaction(HOURS);
  const started = gate();
  let cancelled = false;
  fake.activities.compactHour = async (hour) => {
    fake.calls.push(`compactHour dt=${hour.dt}/hour=${hour.hour}`);
    if (hour.hour !== '23') return compacted(hour);
    started.open();
    const context = Context.current();
    try {
      for (;;) {
        context.heartbeat();
        await context.sleep(50);
      }
    } catch (error) {
      cancelled = error instanceof CancelledFailure;
      throw error;
    }
  };
  await withWorker(env, fake.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(compactWorkflow, {
      taskQueue,
      workflowId: uniqueName('compact'),
      args: [input()],
    });
    await started.wait;
    await handle.cancel();
    expect(await failureOf(handle.result())).toBeInstanceOf(CancelledFailure);
    await eventually(
      async () => cancelled,
      (value) => value,
      { what: 'the running compactHour to see its cancellation' },
    );
    expect(fake.calls.slice(1)).toEqual(['compactHour dt=2026-01-01/hour=22', 'compactHour dt=2026-01-01/hour=23']);
    const progress = await handle.query(compactProgressQuery);
    expect(progress.done.map((hour) => hour.hour)).toEqual(['22']);
  });
});
