import path from 'node:path';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import Table from 'cli-table3';
import { Command } from 'commander';
import { dashboardUrl, PROJECT_ROOT, loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/logger';
import { tableForTopic } from '../lib/queries';
import { assertWorkersPolling, connectClient, rootCauseMessage, workflowUrl } from '../lib/temporal';
import type { PipelineInput, PipelineReport, QueryResult } from '../lib/types';
import { openStack, selectServices, status, up } from '../stack';
import { pipelineWorkflow } from '../workflows';
import { pipelineProgressQuery } from '../workflows/pipeline';
import { awaitWhileWatching, PLAIN_TABLE, positiveInteger, runCli } from './cli';
import { consumerInput, consumerWorkflowId } from './consume';
import { crawlInput } from './crawl';
import { provision } from './provision';
import { formatResult } from './query';
import { replayInput } from './replay';

const SAMPLE = path.join(PROJECT_ROOT, 'data/indexProcessed-sample.csv');

interface DemoOptions {
  topic?: string;
  minutes: number;
  symbolColumn: string;
  priceColumn: string;
  sizeColumn: string;
}

/** The pipeline's input: the scripts' own defaults for each stage, on the configured queues. */
export function pipelineInput(file: string, options: DemoOptions, config: Config): PipelineInput {
  const replay = replayInput(
    file,
    {
      topic: options.topic,
      mode: 'ordered',
      speed: 1,
      symbolColumn: options.symbolColumn,
      partitions: 3,
      batchRows: 2000,
      chunkSeconds: 10,
      progress: false,
    },
    config,
  );
  const consumer = consumerInput(
    {
      topic: replay.topic,
      members: 1,
      maxRecords: 50_000,
      maxMb: 16,
      maxAgeSeconds: 2,
      maxRecordKb: 1024,
      progress: false,
    },
    config,
  );
  return {
    replay,
    consumer,
    consumerWorkflowId: consumerWorkflowId(consumer.topic, consumer.groupId),
    crawl: crawlInput(config.glue.crawler, { pollSeconds: 1, pollMaxSeconds: 5 }),
    query: {
      database: config.glue.database,
      workGroup: config.athena.workgroup,
      outputLocation: config.athena.outputLocation,
      table: tableForTopic(replay.topic),
      minutes: options.minutes,
      limit: 5,
      symbolColumn: options.symbolColumn,
      priceColumn: options.priceColumn,
      sizeColumn: options.sizeColumn,
    },
    taskQueues: {
      ingest: config.temporal.ingestTaskQueue,
      catalog: config.temporal.catalogTaskQueue,
      query: config.temporal.queryTaskQueue,
    },
    workflowsUrl: workflowUrl(config, ''),
  };
}

function resultTable(result: QueryResult): string {
  const more = result.rows.length > 10 ? `\n… ${result.rows.length - 10} more rows` : '';
  return `${formatResult({ ...result, rows: result.rows.slice(0, 10) }, 'table')}${more}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The report as readable tables. */
export function describePipeline(report: PipelineReport): string {
  const counts = new Table(PLAIN_TABLE);
  counts.push(
    { 'rows replayed': String(report.replay.sent) },
    { 'rows rejected': String(report.replay.rejected) },
    { 'records flushed to S3': `${report.consumer.flushed} in ${report.consumer.objects} objects` },
    { 'records dead-lettered': String(report.consumer.deadLettered) },
    { "this run's rows in the lake": String(report.lakeRows) },
    { table: `${report.catalog.table} (${report.catalog.partitions} partitions)` },
    {
      'the crawl': `created ${report.crawl.tablesCreated.join(', ') || 'no table'}, updated ${report.crawl.tablesUpdated.join(', ') || 'none'}, ${Object.values(report.crawl.partitionsAdded).reduce((a, b) => a + b, 0)} partitions added`,
    },
  );
  const stages = new Table({ head: ['stage', 'took', 'workflow'], ...PLAIN_TABLE });
  for (const stage of report.stages) stages.push([stage.stage, seconds(stage.durationMs), stage.url]);
  return [
    `Pipeline run ${report.runId} on topic ${report.topic}: done in ${seconds(report.totalMs)}` +
      (report.consumer.joined ? ' (joined the running consumer)' : ''),
    counts.toString(),
    ...report.queries.map(({ name, result }) => `\n${name}:\n${resultTable(result)}`),
    `\nStages:\n${stages.toString()}`,
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
  .option('--minutes <n>', 'window of the named queries, in minutes', positiveInteger('--minutes'), 60)
  .option('--symbol-column <name>', 'symbol column (the sample: index)', 'index')
  .option('--price-column <name>', 'price column (the sample: close)', 'close')
  .option('--size-column <name>', 'traded size column (the sample: volume)', 'volume')
  .showHelpAfterError()
  .action(async (file: string, options: DemoOptions) => {
    const config = loadConfig();
    const logger = createLogger('demo', config.logLevel);
    const input = pipelineInput(file, options, config);
    const stack = openStack(config, logger);
    const services = selectServices([], true);
    await up(stack, services);
    await provision(config, logger);

    const client = await connectClient(config);
    try {
      await assertWorkersPolling(client, config, Object.values(input.taskQueues));
      const workflowId = `pipeline-${input.replay.runId}`;
      const handle = await client.workflow.start(pipelineWorkflow, {
        workflowId,
        taskQueue: config.temporal.catalogTaskQueue,
        args: [input],
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
      const columns = `--symbol-column ${options.symbolColumn} --price-column ${options.priceColumn} --size-column ${options.sizeColumn}`;
      console.log(`\nRerun a query: npm run query -- --named top-volume --minutes ${options.minutes} ${columns}`);
      console.log(`Pipeline: ${url}`);
      console.log(`Temporal Web UI: ${config.temporal.uiUrl}`);
      console.log(`Live dashboard: ${dashboardUrl(config)}`);
      console.log('The stack and workers keep running. Stop them with: npm run stack -- down');
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
