import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { searchAttributes } from '../lib/search-attributes';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import {
  CONSUMER_DEFAULTS,
  type ConsumerProgress,
  MIB,
  consumerProgressQuery,
  flushNowSignal,
  pauseConsumerSignal,
  resumeConsumerSignal,
  stopConsumerSignal,
} from '../lib/contracts';
import {
  consumerInput,
  type ConsumerOptions,
  consumerTarget,
  type ConsumerTargetOptions,
} from '../lib/workflow-inputs';
import { consumerWorkflow } from '../workflows';
import {
  awaitWhileWatching,
  BAR_OPTIONS,
  connectTemporal,
  fitLine,
  positiveInteger,
  positiveNumber,
  runCli,
  textTable,
} from './cli';

interface StartOptions extends ConsumerOptions {
  detach?: boolean;
  progress: boolean;
}

function progressLine(progress: ConsumerProgress, recordsPerSecond: number): string {
  const { totals } = progress;
  const error = progress.lastError ? ` | last error: ${progress.lastError}` : '';
  return (
    `${progress.status} | ${totals.records} records in ${totals.objects} objects | ${totals.deadLetters} dead letters` +
    ` | ${recordsPerSecond} records/s | lag ${progress.lag} | buffered ${progress.buffered}${error}`
  );
}

/** Shows live progress until the consumer ends (or Ctrl-C, which leaves it running). */
async function watch(client: Client, workflowId: string, showBar: boolean): Promise<void> {
  const handle = client.workflow.getHandle<typeof consumerWorkflow>(workflowId);
  const logger = createLogger('consume');
  const bar = showBar ? new SingleBar({ format: 'caught up {bar} {percentage}% | {line}', ...BAR_OPTIONS }) : undefined;
  bar?.start(1000, 0, { line: 'starting' });
  process.once('SIGINT', () => {
    bar?.stop();
    console.log(`\nthe consumer keeps running; stop it with: npm run consume -- stop`);
    process.exit(0);
  });
  let last: { records: number; at: number } | undefined;
  let lastLog = 0;
  try {
    const result = await awaitWhileWatching(
      handle.result(),
      async () => {
        const progress = await handle.query(consumerProgressQuery).catch(() => undefined);
        if (progress) {
          const written = progress.totals.records + progress.totals.deadLetters;
          const now = Date.now();
          const rate = last && now > last.at ? Math.round(((written - last.records) * 1000) / (now - last.at)) : 0;
          if (!last || now - last.at >= 2000) last = { records: written, at: now };
          const committed = progress.partitions.reduce((sum, partition) => sum + partition.committed, 0);
          const total = committed + progress.lag;
          bar?.update(total > 0 ? Math.round((committed / total) * 1000) : 1000, {
            line: fitLine(progressLine(progress, rate), 'caught up '),
          });
          if (!bar && now - lastLog >= 5000) {
            lastLog = now;
            logger.info({ ...progress, recordsPerSecond: rate }, 'consumer progress');
          }
        }
      },
      1000,
    );
    const { totals } = result;
    console.log(
      `consumer ${workflowId} stopped: ${totals.records} records and ${totals.deadLetters} dead letters in ${totals.objects} objects`,
    );
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      throw new Error(`consumer ${workflowId} failed: ${rootCauseMessage(error)}`, { cause: error });
    }
    throw error;
  } finally {
    bar?.stop();
  }
}

const targetOptions = (command: Command) =>
  command
    .option('--topic <name>', 'Kafka topic (default: TICKSYNC_TOPIC)')
    .option('--group <id>', 'consumer group (default: <client id>.lake.<topic>)');

const program = targetOptions(
  new Command('npm run consume --').description(
    'Consume a Kafka topic into S3 (raw/ as gzip JSON Lines, dlq/ for bad records), exactly once, as a durable consumerWorkflow. ' +
      'Starts the consumer, or attaches to the one already running, and shows live progress.',
  ),
)
  .option(
    '--members <count>',
    'consumer-group members (one per worker at most)',
    positiveInteger('--members'),
    CONSUMER_DEFAULTS.members,
  )
  .option(
    '--max-records <count>',
    'write a partition after this many records',
    positiveInteger('--max-records'),
    CONSUMER_DEFAULTS.flush.maxRecords,
  )
  .option(
    '--max-mb <MiB>',
    'write a partition after this many MiB of records',
    positiveNumber('--max-mb'),
    CONSUMER_DEFAULTS.flush.maxBytes / MIB,
  )
  .option(
    '--max-age-seconds <seconds>',
    'write a record at most this long after it arrived',
    positiveNumber('--max-age-seconds'),
    CONSUMER_DEFAULTS.flush.maxAgeMs / 1000,
  )
  .option(
    '--max-record-kb <KiB>',
    'larger records are dead letters',
    positiveNumber('--max-record-kb'),
    CONSUMER_DEFAULTS.maxRecordBytes / 1024,
  )
  .option('--detach', 'start (or find) the consumer and exit')
  .option('--no-progress', 'log progress lines instead of drawing a status line')
  .action(async (options: StartOptions) => {
    const config = loadConfig();
    const input = consumerInput(options, config);
    const { workflowId } = consumerTarget(options, config);
    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.ingestTaskQueue]);
      try {
        await client.workflow.start(consumerWorkflow, {
          workflowId,
          taskQueue: config.temporal.ingestTaskQueue,
          args: [input],
          staticSummary: `consume ${input.topic} into S3 (group ${input.groupId})`,
          typedSearchAttributes: searchAttributes('consume', input.topic),
        });
        console.log(
          `consumer started: ${input.topic} → s3://${config.s3.bucket}/${config.s3.rawPrefix}${input.topic}/`,
        );
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        console.log(`consumer already running for ${input.topic} (group ${input.groupId}): attaching`);
      }
      console.log(`Workflow: ${workflowUrl(config, workflowId)}`);
      if (options.detach) return;
      await watch(client, workflowId, options.progress && process.stderr.isTTY === true);
    } finally {
      await client.connection.close();
    }
  });

/** Runs a control subcommand against the consumer the options name; a missing run is reported as such. */
async function withConsumer(
  options: ConsumerTargetOptions,
  run: (handle: WorkflowHandle<typeof consumerWorkflow>) => Promise<void>,
): Promise<void> {
  const config = loadConfig();
  const { workflowId } = consumerTarget({ ...program.opts<ConsumerTargetOptions>(), ...options }, config);
  const client = await connectTemporal(config);
  try {
    await run(client.workflow.getHandle<typeof consumerWorkflow>(workflowId)).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new Error(`no consumer is running as ${workflowId}`);
      throw error;
    });
  } finally {
    await client.connection.close();
  }
}

const controls = [
  ['stop', 'write what is buffered, commit and stop the consumer', stopConsumerSignal],
  ['pause', 'write what is buffered and stop fetching (members stay in the group)', pauseConsumerSignal],
  ['resume', 'fetch again after a pause', resumeConsumerSignal],
  ['flush', 'write everything buffered now', flushNowSignal],
] as const;
for (const [name, description, signal] of controls) {
  targetOptions(program.command(name).description(description)).action((options: ConsumerTargetOptions) =>
    withConsumer(options, async (handle) => {
      await handle.signal(signal);
      console.log(`${name}: sent to ${handle.workflowId}`);
      if (name === 'stop') {
        const { totals } = await handle.result();
        console.log(`stopped: ${totals.records} records and ${totals.deadLetters} dead letters written in total`);
      }
    }),
  );
}
/** The progress query as tables a person reads at a glance: the consumer, then each partition. */
export function describeConsumerProgress(progress: ConsumerProgress): string {
  const { totals } = progress;
  const summary = textTable(undefined, [
    ['topic', `${progress.topic} (group ${progress.groupId})`],
    ['status', `${progress.status}, ${progress.members} member${progress.members === 1 ? '' : 's'}`],
    ['written', `${totals.records} records in ${totals.objects} S3 objects (${totals.segments} commits)`],
    ['dead letters', String(totals.deadLetters)],
    ['lag', `${progress.lag} records not yet fetched, ${progress.buffered} buffered`],
    ['last flush', progress.lastFlushAt ?? 'none yet'],
    ...(progress.lastError ? [['last error', progress.lastError]] : []),
  ]);
  const partitions = textTable(
    ['partition', 'committed', 'end offset', 'lag', 'buffered', 'member', 'last flush'],
    progress.partitions.map((partition) => [
      String(partition.partition),
      String(partition.committed),
      String(partition.highWatermark),
      String(partition.lag),
      String(partition.buffered),
      String(partition.member),
      partition.lastFlushAt ?? '—',
    ]),
  );
  return `${summary}\n${partitions}`;
}

targetOptions(
  program.command('status').description('print the consumer progress (as tables; --json for the progress query)'),
)
  .option('--json', 'print the progress query as JSON')
  .action((options: ConsumerTargetOptions & { json?: boolean }) =>
    withConsumer(options, async (handle) => {
      const progress = await handle.query(consumerProgressQuery);
      console.log(options.json ? JSON.stringify(progress, null, 2) : describeConsumerProgress(progress));
    }),
  );

if (require.main === module) runCli(program);
