import path from 'node:path';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { recordedHistories } from '../helpers/histories';

/**
 * The determinism guard: every history recorded from the real stack
 * (test/fixtures/histories/, written by test/histories/record.record.ts) replays
 * against the current workflow code without a non-determinism error. A change
 * to a workflow that would break the runs in flight on upgrade fails here first;
 * docs/OPERATIONS.md says how to make such a change safely.
 */

const histories = recordedHistories();

beforeAll(() => {
  // The replayer's own logs (one line per workflow task) are noise here; errors still reach the results.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
});

async function bundle(workflowsPath: string): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
}

/** Each selected history's outcome by name: ok, or why its replay failed. */
async function replayAll(workflowBundle: WorkflowBundle, only?: (name: string) => boolean) {
  const outcome: Record<string, string> = {};
  for (const { name, workflowId, history } of histories.filter(({ name }) => !only || only(name))) {
    try {
      await Worker.runReplayHistory({ workflowBundle }, history, workflowId);
      outcome[name] = 'ok';
    } catch (error) {
      const kind = error instanceof DeterminismViolationError ? 'nondeterministic' : 'failed';
      outcome[name] = `${kind}: ${(error as Error).message}`;
    }
  }
  return outcome;
}

test('every workflow has recorded histories, covering its signal, cancel, failure and continue-as-new paths', () => {
  const types = new Set(
    histories.map(({ history }) => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name),
  );
  expect([...types].sort()).toEqual([
    'compactWorkflow',
    'consumerWorkflow',
    'crawlWorkflow',
    'healthcheckWorkflow',
    'pipelineWorkflow',
    'queryWorkflow',
    'replayWorkflow',
  ]);
  const endings = new Set(
    histories.map(({ history }) => temporal.api.enums.v1.EventType[history.events?.at(-1)?.eventType ?? 0]),
  );
  expect(endings).toEqual(
    new Set(
      [
        'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
        'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
        'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
        'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      ].map((type) => type),
    ),
  );
});

test('the recorded histories replay against the current workflow code', async () => {
  const outcome = await replayAll(await bundle(require.resolve('../../workflows')));
  expect(outcome).toEqual(Object.fromEntries(histories.map(({ name }) => [name, 'ok'])));
}, 120_000);

test('the guard catches a change that breaks determinism (a timer added before a replay starts)', async () => {
  const altered = await bundle(path.join(__dirname, '../fixtures/altered-workflows'));
  const outcome = await replayAll(altered, (name) => name.startsWith('replay-'));
  expect(Object.keys(outcome).length).toBeGreaterThanOrEqual(3);
  for (const [name, result] of Object.entries(outcome))
    expect([name, result]).toEqual([name, expect.stringMatching(/^nondeterministic: /)]);
}, 120_000);
