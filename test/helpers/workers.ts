import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { connectClient } from '../../lib/temporal';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed, for assertions and failure messages. */
  output: () => string;
  /** Where it serves Prometheus metrics. */
  metricsUrl: string;
  /** Sends the signal and resolves when the process has exited. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * Starts a real worker process (the same entry `npm run worker:*` runs) and
 * resolves once the server has seen it poll its task queue.
 */
export type WorkerEntry = 'ingest' | 'catalog' | 'query' | 'compact';

const TASK_QUEUE_OF = {
  ingest: 'ingestTaskQueue',
  catalog: 'catalogTaskQueue',
  query: 'queryTaskQueue',
  compact: 'compactTaskQueue',
} as const satisfies Record<WorkerEntry, string>;

const METRICS_PORT_VARIABLE = {
  ingest: 'TICKSYNC_INGEST_METRICS_PORT',
  catalog: 'TICKSYNC_CATALOG_METRICS_PORT',
  query: 'TICKSYNC_QUERY_METRICS_PORT',
  compact: 'TICKSYNC_COMPACT_METRICS_PORT',
} as const satisfies Record<WorkerEntry, string>;

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startWorkerProcess(
  entry: WorkerEntry,
  env: NodeJS.ProcessEnv,
  timeoutMs = 90_000,
): Promise<WorkerProcess> {
  // Each worker process its own metrics port, so that several (and the stack's) run side by side.
  const metricsPort = env[METRICS_PORT_VARIABLE[entry]] ?? String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', `${entry}.ts`)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env, [METRICS_PORT_VARIABLE[entry]]: metricsPort },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const worker: WorkerProcess = {
    child,
    output: () => output,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  const exitedEarly = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${entry} worker exited with ${code ?? signal} before polling:\n${output}`)),
    ),
  );
  exitedEarly.catch(() => undefined);
  try {
    await Promise.race([
      waitForPoller(loadConfig({ ...process.env, ...env }), entry, child.pid ?? 0, deadline(timeoutMs)),
      exitedEarly,
    ]);
  } catch (error) {
    await worker.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  return worker;
}

const deadline = (ms: number) => Date.now() + ms;

/** Resolves once the server has seen this process poll (a worker's identity is `<pid>@<host>`). */
async function waitForPoller(config: ReturnType<typeof loadConfig>, entry: WorkerEntry, pid: number, until: number) {
  const name = config.temporal[TASK_QUEUE_OF[entry]];
  const client = await connectClient(config);
  try {
    while (Date.now() < until) {
      const { pollers } = await client.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name },
      });
      if (pollers?.some((poller) => poller.identity?.startsWith(`${pid}@`))) return;
      await sleep(200);
    }
    throw new Error(`no poller on ${name} before the deadline`);
  } finally {
    await client.connection.close();
  }
}

/** A name no other test run uses, for task queues, topics and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
