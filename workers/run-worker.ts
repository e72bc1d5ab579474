import net from 'node:net';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createMetrics, HISTOGRAM_BUCKETS, type TickSyncMetrics } from '../lib/metrics';
import { temporalConnectionOptions } from '../lib/temporal';
import { workflowBundle } from './workflow-bundle';

export interface WorkerSpec {
  taskQueue: string;
  activities: object;
  /** Closes the clients the activities hold, after the worker has drained. */
  close?: () => Promise<void>;
}

const PINO_METHOD: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Runs one worker until SIGINT/SIGTERM: it polls the task queue for every
 * TickSync workflow and for the activities it is given. Temporal's SDK and core
 * log through the process's pino logger.
 */
/** Whether nothing listens on the port yet (a second worker of a kind on one host finds its default taken). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function installRuntime(logger: Logger, metricsAddress: string | undefined): void {
  Runtime.install({
    logger: {
      log: (level, message, meta) => logger[PINO_METHOD[level]](meta ?? {}, message),
      trace: (message, meta) => logger.trace(meta ?? {}, message),
      debug: (message, meta) => logger.debug(meta ?? {}, message),
      info: (message, meta) => logger.info(meta ?? {}, message),
      warn: (message, meta) => logger.warn(meta ?? {}, message),
      error: (message, meta) => logger.error(meta ?? {}, message),
    },
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      // One endpoint for the SDK's metrics and TickSync's (registered on the runtime's meter).
      metrics: metricsAddress
        ? {
            prometheus: {
              bindAddress: metricsAddress,
              countersTotalSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: HISTOGRAM_BUCKETS,
            },
          }
        : undefined,
    },
  });
}

async function runWorker(config: Config, logger: Logger, { taskQueue, activities, close }: WorkerSpec): Promise<void> {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: await workflowBundle(logger),
      activities,
      shutdownGraceTime: '10 seconds',
      // Heartbeats carry progress (the replay's committed marker) that scripts show live.
      maxHeartbeatThrottleInterval: '1 second',
    });
    logger.info(
      { taskQueue, namespace: config.temporal.namespace, address: config.temporal.address },
      'worker started',
    );
    await worker.run();
    logger.info({ taskQueue }, 'worker stopped');
  } finally {
    await connection.close();
    await close?.();
  }
}

export type WorkerKind = 'ingest' | 'catalog' | 'query' | 'compact';

const TASK_QUEUE = {
  ingest: 'ingestTaskQueue',
  catalog: 'catalogTaskQueue',
  query: 'queryTaskQueue',
  compact: 'compactTaskQueue',
} as const;
const METRICS_PORT = {
  ingest: 'ingestPort',
  catalog: 'catalogPort',
  query: 'queryPort',
  compact: 'compactPort',
} as const;

/**
 * A worker process's main: config, logger and the runtime (with the metrics
 * endpoint, `/metrics`) once, then the worker until a signal stops it.
 */
export function runWorkerProcess(
  kind: WorkerKind,
  build: (
    config: Config,
    logger: Logger,
    metrics: TickSyncMetrics,
  ) => Omit<WorkerSpec, 'taskQueue'> | Promise<Omit<WorkerSpec, 'taskQueue'>>,
): void {
  const name = `${kind}-worker`;
  let logger: Logger | undefined;
  Promise.resolve()
    .then(async () => {
      const config = loadConfig();
      logger = createLogger(name, config.logLevel);
      const taskQueue = config.temporal[TASK_QUEUE[kind]];
      const host = config.stack.listenHost;
      const port = config.metrics[METRICS_PORT[kind]];
      if (await portFree(host, port)) {
        installRuntime(logger, `${host}:${port}`);
        logger.info({ url: `http://${host}:${port}/metrics` }, 'serving metrics');
      } else {
        // Another worker (most often one of the same kind, scaled out on this host) serves that port.
        installRuntime(logger, undefined);
        logger.warn(
          { port, variable: `TICKSYNC_${kind.toUpperCase()}_METRICS_PORT` },
          'metrics port in use: this worker runs without /metrics; give it a port of its own with the variable',
        );
      }
      const metrics = createMetrics(Runtime.instance().metricMeter, taskQueue);
      await runWorker(config, logger, { taskQueue, ...(await build(config, logger, metrics)) });
    })
    .catch((error: unknown) => {
      if (logger) logger.fatal({ err: error }, `${name} failed`);
      else console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
