import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig, type Config } from '../../lib/config';
import { temporalConnectionOptions } from '../../lib/temporal';
import { workflowBundle } from '../../workers/workflow-bundle';
import { uniqueName } from './workers';

/**
 * Workflows under test with mocked activities, in Temporal's test environment.
 *
 * The environment is `TestWorkflowEnvironment.createFromExistingServer`, on the
 * stack's own Temporal dev server, not `createTimeSkipping`: the time-skipping
 * server is a binary the SDK downloads on first use, which this machine (offline)
 * cannot do. So timers run in real time and the tests give the workflows short
 * ones (poll intervals, backoffs, chunk sizes); see docs/OPERATIONS.md.
 *
 * Each test runs an in-process Worker on a task queue of its own, with the
 * workflows of `workflows/` (the workers' cached bundle, workers/workflow-bundle.ts) and the mock activities it
 * passes, for as long as the test's body runs.
 */
export interface WorkflowEnv {
  config: Config;
  env: TestWorkflowEnvironment;
  client: Client;
  /** What the workflows logged (`log.warn` ...), newest last, across the file's tests. */
  logs: LogEntry[];
  close(): Promise<void>;
}

let bundle: ReturnType<typeof workflowBundle> | undefined;
const logs: LogEntry[] = [];

export async function openWorkflowEnv(): Promise<WorkflowEnv> {
  const config = loadConfig();
  // One runtime per process: its logger keeps what the workflows log, for tests that assert on it.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => void logs.push(entry)),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const { address, apiKey, tls } = temporalConnectionOptions(config);
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address,
    namespace: config.temporal.namespace,
    connectionOptions: { apiKey, tls },
  });
  bundle ??= workflowBundle(pino({ level: 'silent' }));
  await bundle;
  return { config, env, client: env.client, logs, close: () => env.teardown() };
}

/**
 * Runs `body` while an in-process worker serves a fresh task queue with the
 * given activities; the worker shuts down when the body ends (its running
 * activities are cancelled then).
 */
export async function withWorker<T>(
  { env, config }: WorkflowEnv,
  activities: object,
  body: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueName('wf-test');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: await bundle!,
    activities,
    // Cancellations reach a heartbeating activity within this (the product's workers: 1 s).
    maxHeartbeatThrottleInterval: '200 milliseconds',
  });
  return worker.runUntil(() => body(taskQueue));
}

/** Polls `read` until `done` holds for its value (every 100 ms, `timeoutMs` at most) and returns that value. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 20_000, what = 'the expected state' } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** A gate a mock activity waits on until the test opens it. */
export function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { open, wait };
}

/** The durations of the timers a workflow run started, in ms, in order (its backoff, read from its history). */
export async function timerDurations(handle: WorkflowHandle): Promise<number[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const timeout = event.timerStartedEventAttributes?.startToFireTimeout;
    if (!timeout) return [];
    return [Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6)];
  });
}

/** The cause of the workflow failure a result rejects with (and that it is one). */
export async function failureOf(result: Promise<unknown>) {
  const error = await result.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
}
