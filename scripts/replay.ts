import path from 'node:path';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { searchAttributes } from '../lib/search-attributes';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import {
  REPLAY_DEFAULTS,
  REPLAY_PACING_DEFAULTS,
  replayFraction,
  type ReplayInput,
  type ReplayMarker,
  type ReplayProgress,
  replayProgressQuery,
  type ReplayResult,
} from '../lib/contracts';
import { replayInput, type ReplayOptions, replayWorkflowId } from '../lib/workflow-inputs';
import { replayWorkflow } from '../workflows';
import {
  awaitWhileWatching,
  BAR_OPTIONS,
  connectTemporal,
  fitLine,
  positiveInteger,
  positiveNumber,
  runCli,
} from './cli';

interface ReplayCliOptions extends ReplayOptions {
  detach?: boolean;
  progress: boolean;
}

function progressLine(progress: ReplayProgress): string {
  const eta = progress.etaSeconds === undefined ? '' : ` | ETA ${progress.etaSeconds}s`;
  const error = progress.lastError ? ` | last error: ${progress.lastError}` : '';
  return `${progress.status} | ${progress.sent} sent | ${progress.rejected} rejected | ${progress.rowsPerSecond} rows/s${eta}${error}`;
}

/**
 * The progress query, brought up to date with the running chunk's last heartbeat
 * (the marker of its last commit): the query itself moves once per chunk.
 */
async function currentProgress(
  handle: WorkflowHandle<typeof replayWorkflow>,
  input: ReplayInput,
): Promise<ReplayProgress> {
  const [progress, description] = await Promise.all([handle.query(replayProgressQuery), handle.describe()]);
  const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  const marker = payload ? defaultPayloadConverter.fromPayload<ReplayMarker | undefined>(payload) : undefined;
  if (!marker || marker.rowsRead <= progress.rowsRead) return progress;
  const { rowsRead, sent, rejected } = marker;
  return { ...progress, rowsRead, sent, rejected, fraction: replayFraction(input, progress, marker) };
}

async function watch(
  handle: WorkflowHandle<typeof replayWorkflow>,
  input: ReplayInput,
  showBar: boolean,
): Promise<ReplayResult> {
  const logger = createLogger('replay');
  const bar = showBar ? new SingleBar({ format: '{bar} {percentage}% | {line}', ...BAR_OPTIONS }) : undefined;
  bar?.start(1000, 0, { line: 'starting' });
  let lastLog = 0;
  let shown = { rowsRead: -1, at: Date.now() };
  try {
    return await awaitWhileWatching(
      handle.result(),
      async () => {
        // The run may be between tasks or already closed: skip that poll.
        const progress = await currentProgress(handle, input).catch(() => undefined);
        // Counters never go back (a poll may land between chunks); status and errors always show.
        if (progress && progress.rowsRead >= shown.rowsRead) {
          // The rate over the last poll, steadier to watch than the workflow's per-chunk figure.
          const seconds = (Date.now() - shown.at) / 1000;
          if (shown.rowsRead >= 0 && seconds > 0 && progress.rowsRead > shown.rowsRead) {
            progress.rowsPerSecond = Math.round((progress.rowsRead - shown.rowsRead) / seconds);
          } else if (progress.status !== 'running') progress.rowsPerSecond = 0;
          if (progress.rowsRead > shown.rowsRead || shown.rowsRead < 0)
            shown = { rowsRead: progress.rowsRead, at: Date.now() };
          if (bar) bar.update(Math.round((progress.fraction ?? 0) * 1000), { line: fitLine(progressLine(progress)) });
          else if (Date.now() - lastLog >= 5000) {
            lastLog = Date.now();
            logger.info(progress, 'replay progress');
          }
        }
      },
      500,
    );
  } finally {
    bar?.stop();
  }
}

const program = new Command('npm run replay --')
  .description('Replay a CSV into a Kafka topic as a durable replayWorkflow, exactly once, with live progress')
  .argument('<source>', 'a CSV file (path on this host, readable by the workers) or s3://<bucket>/input/<key>')
  .option('--topic <name>', 'Kafka topic (default: TICKSYNC_TOPIC)')
  .addOption(
    new Option('--mode <mode>', 'ordered: every row once, in order; sample: random rows with replacement')
      .choices(['ordered', 'sample'])
      .default(REPLAY_DEFAULTS.mode),
  )
  .option(
    '--rate <rows/s>',
    `send at this many rows per second (default: as fast as possible; sample mode: ${REPLAY_PACING_DEFAULTS.sampleRowsPerSecond})`,
    positiveNumber('--rate'),
  )
  .option('--timestamp-column <column>', "pace by this column's clock (real time, times --speed)")
  .option(
    '--speed <factor>',
    'with --timestamp-column: how much faster than real time',
    positiveNumber('--speed'),
    REPLAY_PACING_DEFAULTS.speed,
  )
  .option('--limit <rows>', 'stop after this many rows', positiveInteger('--limit'))
  .option('--loop', 'start over at the end of the file (until --limit or cancelled)')
  .option('--symbol-column <column>', 'the column used as message key (default: symbol, ticker or index)')
  .option('--run-id <id>', 'run id (default: time-based); the same id resumes the same run', (value: string) => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(value)) throw new InvalidArgumentError('--run-id takes letters, digits, . _ -');
    return value;
  })
  .option(
    '--partitions <count>',
    'partitions when the topic is created',
    positiveInteger('--partitions'),
    REPLAY_DEFAULTS.partitions,
  )
  .option(
    '--batch-rows <count>',
    'rows per Kafka transaction at most (a transaction also ends after 100 ms); fewer makes rows visible sooner at full speed, more is faster',
    positiveInteger('--batch-rows'),
    REPLAY_DEFAULTS.batchRows,
  )
  .option(
    '--chunk-seconds <seconds>',
    'length of each activity call; signals act between calls',
    positiveInteger('--chunk-seconds'),
    REPLAY_DEFAULTS.chunkSeconds,
  )
  .option('--detach', 'start the run and exit, printing its id')
  .option('--no-progress', 'log progress lines instead of drawing a progress bar')
  .action(async (source: string, options: ReplayCliOptions) => {
    const config = loadConfig();
    const input = replayInput(source, options, config);
    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.ingestTaskQueue]);
      const workflowId = replayWorkflowId(input.runId);
      const handle = await client.workflow.start(replayWorkflow, {
        workflowId,
        taskQueue: config.temporal.ingestTaskQueue,
        args: [input],
        staticSummary: `replay ${path.basename(input.source)} into ${input.topic}`,
        staticDetails: `source: ${input.source}`,
        typedSearchAttributes: searchAttributes('replay', input.topic, input.runId),
      });
      const url = workflowUrl(config, workflowId);
      console.log(`replay ${input.runId}: ${input.source} → ${input.topic}\nWorkflow: ${url}`);
      if (options.detach) return;

      let cancelled = false;
      process.once('SIGINT', () => {
        cancelled = true;
        console.error('\ncancelling the run (it stops at its last committed batch)…');
        handle.cancel().catch((error: unknown) => console.error(`could not cancel: ${rootCauseMessage(error)}`));
      });
      const started = Date.now();
      try {
        const result = await watch(handle, input, options.progress && process.stderr.isTTY === true);
        const seconds = (Date.now() - started) / 1000;
        console.log(
          [
            `replay ${result.runId} completed: ${result.sent} rows sent to ${result.topic}, ${result.rejected} rejected (to ${result.topic}.rejects)`,
            `${seconds.toFixed(1)} s, ${Math.round(result.rowsRead / seconds)} rows/s`,
            `Workflow: ${url}`,
          ].join('\n'),
        );
      } catch (error) {
        if (error instanceof WorkflowFailedError && cancelled && error.cause instanceof CancelledFailure) {
          // Stopped on request: not a failure; 130 is the shell's code for an interrupted command.
          console.log(`replay ${input.runId} cancelled at its last committed batch\nWorkflow: ${url}`);
          process.exitCode = 130;
          return;
        }
        if (error instanceof WorkflowFailedError) {
          throw new Error(`replay ${input.runId} failed: ${rootCauseMessage(error)}\nWorkflow: ${url}`, {
            cause: error,
          });
        }
        throw error;
      }
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
