import path from 'node:path';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { Command, Option } from 'commander';
import { dashboardUrl, PROJECT_ROOT, loadConfig } from '../lib/config';
import { createLogger, currentLogFile } from '../lib/logger';
import { searchAttributes } from '../lib/search-attributes';
import { NAMED_QUERY_DEFAULTS, TIME_BASES } from '../lib/queries';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import { PIPELINE_DEFAULTS, pipelineProgressQuery, type PipelineReport } from '../lib/contracts';
import { openStack, selectServices, status, up } from '../stack';
import { pipelineInput, type PipelineOptions } from '../lib/workflow-inputs';
import { pipelineWorkflow } from '../workflows';
import { awaitWhileWatching, connectTemporal, positiveInteger, runCli, textTable } from './cli';
import { provision } from '../lib/provision';
import { formatResult } from '../lib/text-output';

const SAMPLE = path.join(PROJECT_ROOT, 'data/indexProcessed-sample.csv');

/** Rows of each query the report shows; `npm run query` shows them all. */
const REPORT_ROWS = 10;

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The report as readable tables: what this run did, then what the queries found in the whole window. */
export function describePipeline(report: PipelineReport): string {
  const partitionsAdded = Object.values(report.crawl.partitionsAdded).reduce((a, b) => a + b, 0);
  const run = textTable(undefined, [
    ['rows replayed', String(report.replay.sent)],
    ['rows rejected (sent to the rejects topic)', String(report.replay.rejected)],
    ['rows in the lake, counted by Athena', String(report.lakeRows)],
    ['records the consumer wrote meanwhile', `${report.consumer.flushed} in ${report.consumer.objects} S3 objects`],
    ['records dead-lettered meanwhile', String(report.consumer.deadLettered)],
  ]);
  const lake = textTable(undefined, [
    ['table', `${report.catalog.table}, ${plural(report.catalog.partitions, 'partition')} (one per hour of arrival)`],
    [
      'compacted hours',
      report.catalog.compacted.length === 0
        ? 'none yet: every hour is read raw (npm run compact)'
        : `${report.catalog.compacted.length} read as Parquet: ${report.catalog.compacted.join(', ')}; the others raw`,
    ],
    [
      'the crawl',
      `created ${report.crawl.tablesCreated.join(', ') || 'no table'}, ` +
        `updated ${report.crawl.tablesUpdated.join(', ') || 'none'}, ${plural(partitionsAdded, 'partition')} added`,
    ],
  ]);
  const queries = report.queries.map(({ name, result }) => {
    const about = result.named ? `${result.named.time}\ncolumns: ${result.named.columns}; times in UTC` : '';
    return `\n${name}: ${about}\n${formatResult(result, 'table', REPORT_ROWS)}`;
  });
  const stages = textTable(
    ['stage', 'took', 'workflow id'],
    report.stages.map((stage) => [stage.stage, seconds(stage.durationMs), stage.workflowId]),
  );
  return [
    `Pipeline run ${report.runId} on topic ${report.topic}: done in ${seconds(report.totalMs)}` +
      (report.consumer.joined ? ' (joined the running consumer)' : ''),
    `\nThis run (the consumer's counts include any other traffic while the pipeline waited):\n${run}`,
    `\nThe lake:\n${lake}`,
    `\nThe named queries read the whole table: every run in their window, not only this one.`,
    ...queries,
    `\nStages (each a workflow; the pipeline's page in the Web UI links them):\n${stages}`,
  ].join('\n');
}

const program = new Command('npm run demo --')
  .description(
    'The main job on the local stack: install what is missing, bring the stack and the workers up, provision, and run ' +
      'pipelineWorkflow: replay a CSV into Kafka, flush it to S3, crawl it with Glue and answer the named queries with ' +
      'Athena. Everything keeps running afterwards for the Web UI.',
  )
  .argument('[file]', 'the CSV to replay', SAMPLE)
  .option('--topic <name>', 'Kafka topic (default: TICKSYNC_TOPIC)')
  .option(
    '--minutes <n>',
    'window of the named queries, in minutes of --time',
    positiveInteger('--minutes'),
    PIPELINE_DEFAULTS.namedQueries.minutes,
  )
  .addOption(
    new Option('--time <clock>', "the named queries' clock: event (the data's timestamp column) or arrival")
      .choices(TIME_BASES)
      .default(NAMED_QUERY_DEFAULTS.time),
  )
  .option('--symbol-column <name>', 'symbol column (default: found in the data: symbol, ticker or index)')
  .option('--price-column <name>', 'price column (default: found in the table: price, close or last)')
  .option('--size-column <name>', 'traded size column (default: found in the table: size, volume, quantity or qty)')
  .option('--time-column <name>', 'event-time column (default: found in the table: timestamp, time, date, ...)')
  .action(async (file: string, options: PipelineOptions) => {
    const config = loadConfig();
    const logger = createLogger('demo', config.logLevel);
    const input = pipelineInput(file, options, config);
    const stack = openStack(config, logger);
    const services = selectServices([], true);
    await up(stack, services);
    await provision(config, logger);

    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, Object.values(input.taskQueues));
      const workflowId = `pipeline-${input.replay.runId}`;
      const handle = await client.workflow.start(pipelineWorkflow, {
        workflowId,
        taskQueue: config.temporal.catalogTaskQueue,
        args: [input],
        staticSummary: `pipeline: ${path.basename(file)} → ${input.replay.topic} → S3 → Glue → Athena`,
        // The consumer outlives each pipeline (only the first one starts it): linked here for every run.
        staticDetails:
          `run id: ${input.replay.runId}\n\n` +
          `consumer: [${input.consumerWorkflowId}](${workflowUrl(config, input.consumerWorkflowId)})\n\n` +
          `this run's workflows: search \`TickSyncRunId = "${input.replay.runId}"\``,
        typedSearchAttributes: searchAttributes('pipeline', input.replay.topic, input.replay.runId),
      });
      const url = workflowUrl(config, workflowId);
      console.log(`Pipeline: ${url}`);
      let shown = 0;
      const report = await awaitWhileWatching(
        handle.result(),
        async () => {
          const progress = await handle.query(pipelineProgressQuery).catch(() => undefined);
          for (const stage of progress?.stages.slice(shown) ?? []) {
            console.log(`  ${stage.stage.padEnd(20)} ${seconds(stage.durationMs).padStart(8)}`);
          }
          shown = progress?.stages.length ?? shown;
        },
        1000,
      ).catch((error: unknown) => {
        const cause =
          error instanceof WorkflowFailedError && !(error.cause instanceof CancelledFailure) ? error.cause : undefined;
        throw new Error(`the pipeline failed: ${cause?.message ?? rootCauseMessage(error)}\nPipeline: ${url}`, {
          cause: error,
        });
      });

      console.log(`\n${describePipeline(report)}`);
      console.log('\nRunning services:');
      for (const entry of await status(stack, services)) {
        console.log(`  ${entry.service.padEnd(15)} ${entry.state.padEnd(5)} ${entry.address}`);
      }
      const flags = [
        ['--time', options.time === NAMED_QUERY_DEFAULTS.time ? undefined : options.time],
        ['--symbol-column', options.symbolColumn],
        ['--price-column', options.priceColumn],
        ['--size-column', options.sizeColumn],
        ['--time-column', options.timeColumn],
      ].flatMap(([flag, value]) => (value === undefined ? [] : [` ${flag} ${value}`]));
      console.log(`\nRerun a query: npm run query -- --named top-volume --minutes ${options.minutes}${flags.join('')}`);
      const logFile = currentLogFile();
      if (logFile) console.log(`Logs: ${path.relative(process.cwd(), logFile)}`);
      console.log(`Pipeline: ${url}`);
      console.log(`Temporal Web UI: ${config.temporal.uiUrl}`);
      console.log(`Live dashboard: ${dashboardUrl(config)}`);
      console.log('The stack and workers keep running. Stop them with: npm run stack -- down');
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
