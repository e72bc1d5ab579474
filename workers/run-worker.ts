import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createMetrics, HISTOGRAM_BUCKETS, type TickSyncMetrics } from '../lib/metrics';
import { temporalConnectionOptions } from '../lib/temporal';

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
function installRuntime(logger: Logger, metricsAddress: string): void {
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
      metrics: {
        prometheus: {
          bindAddress: metricsAddress,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: HISTOGRAM_BUCKETS,
        },
      },
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
      workflowsPath: require.resolve('../workflows'),
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

export type WorkerKind = 'ingest' | 'catalog' | 'query';

const TASK_QUEUE = { ingest: 'ingestTaskQueue', catalog: 'catalogTaskQueue', query: 'queryTaskQueue' } as const;
const METRICS_PORT = { ingest: 'ingestPort', catalog: 'catalogPort', query: 'queryPort' } as const;

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
      const metricsAddress = `${config.stack.listenHost}:${config.metrics[METRICS_PORT[kind]]}`;
      installRuntime(logger, metricsAddress);
      logger.info({ url: `http://${metricsAddress}/metrics` }, 'serving metrics');
      const metrics = createMetrics(Runtime.instance().metricMeter, taskQueue);
      await runWorker(config, logger, { taskQueue, ...(await build(config, logger, metrics)) });
    })
    .catch((error: unknown) => {
      if (logger) logger.fatal({ err: error }, `${name} failed`);
      else console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
