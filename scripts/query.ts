import crypto from 'node:crypto';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { searchAttributes } from '../lib/search-attributes';
import {
  checkNamedQueryOptions,
  NAMED_QUERY_DEFAULTS,
  NAMED_QUERY_DESCRIPTIONS,
  NAMED_QUERY_NAMES,
  tableForTopic,
  TIME_BASES,
  type NamedQueryName,
  type TimeBasis,
} from '../lib/queries';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import { QUERY_DEFAULTS, type QueryInput, queryProgressQuery } from '../lib/contracts';
import { formatResult, namedHeading, type ResultFormat, summaryLine } from '../lib/text-output';
import { queryWorkflow } from '../workflows';
import { awaitWhileWatching, connectTemporal, positiveInteger, runCli } from './cli';

interface QueryOptions {
  named?: NamedQueryName;
  minutes: number;
  limit: number;
  time: TimeBasis;
  table?: string;
  symbolColumn?: string;
  priceColumn?: string;
  sizeColumn?: string;
  timeColumn?: string;
  database?: string;
  workgroup?: string;
  outputLocation?: string;
  maxRows: number;
  format: ResultFormat;
}

const glueName = (flag: string) => (value: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(value))
    throw new InvalidArgumentError(`${flag} expects a lowercase Glue name (letters, digits, _), got '${value}'`);
  return value;
};

/** What to run: the SQL argument, or a named query the workflow builds for its table's columns. */
export function queryRequest(
  sql: string | undefined,
  options: QueryOptions,
  config: Config,
): Pick<QueryInput, 'sql' | 'named'> {
  if (sql !== undefined && options.named) throw new UsageError('give either SQL or --named, not both');
  if (options.named) {
    const named = {
      table: options.table ?? tableForTopic(config.kafka.topic),
      minutes: options.minutes,
      limit: options.limit,
      time: options.time,
      symbolColumn: options.symbolColumn,
      priceColumn: options.priceColumn,
      sizeColumn: options.sizeColumn,
      timeColumn: options.timeColumn,
    };
    try {
      checkNamedQueryOptions(named);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return { named: { name: options.named, options: named } };
  }
  if (sql === undefined || sql.trim() === '')
    throw new UsageError('give the SQL to run, e.g. npm run query -- "SELECT 1", or --named top-volume');
  return { sql };
}

function queryInput(request: Pick<QueryInput, 'sql' | 'named'>, options: QueryOptions, config: Config): QueryInput {
  return {
    ...request,
    database: options.database ?? config.glue.database,
    workGroup: options.workgroup ?? config.athena.workgroup,
    outputLocation: options.outputLocation ?? config.athena.outputLocation,
    maxRows: options.maxRows,
    pollInitialMs: QUERY_DEFAULTS.pollInitialMs,
    pollMaxMs: QUERY_DEFAULTS.pollMaxMs,
  };
}

/** Awaits the result, logging each phase the query passes (the report itself waits for the rows). */
async function watch(handle: WorkflowHandle<typeof queryWorkflow>) {
  const logger = createLogger('query');
  let shown = '';
  return awaitWhileWatching(
    handle.result(),
    async () => {
      const progress = await handle.query(queryProgressQuery).catch(() => undefined);
      if (progress && progress.phase !== shown) {
        shown = progress.phase;
        logger.debug(progress, 'query progress');
      }
    },
    500,
  );
}

const program = new Command('npm run query --')
  .description(
    'Run SQL on Athena as a queryWorkflow on the query workers (start, poll with backoff, fetch the rows) ' +
      'and print the rows, the time taken and the data scanned. Named queries: ' +
      NAMED_QUERY_NAMES.map((name) => `${name} (${NAMED_QUERY_DESCRIPTIONS[name]})`).join('; '),
  )
  .argument('[sql]', 'the SQL statement (Athena engine v3: Trino)')
  .addOption(new Option('--named <query>', 'run a named query instead of SQL').choices(NAMED_QUERY_NAMES))
  .option(
    '--minutes <n>',
    'named queries: the window, in minutes of --time',
    positiveInteger('--minutes'),
    NAMED_QUERY_DEFAULTS.minutes,
  )
  .addOption(
    new Option(
      '--time <clock>',
      "named queries: event (the data's own timestamp column, the window ending at its latest value; " +
        'arrival when the table has none) or arrival (ts: when the replay sent the row, the window ending now)',
    )
      .choices(TIME_BASES)
      .default(NAMED_QUERY_DEFAULTS.time),
  )
  .option('--limit <n>', 'top-volume and trades: rows', positiveInteger('--limit'), NAMED_QUERY_DEFAULTS.limit)
  .option('--table <name>', 'named queries: the table (default: the crawled TICKSYNC_TOPIC)', glueName('--table'))
  .option(
    '--symbol-column <name>',
    'named queries: symbol column (default: found in the table: symbol, ticker or index)',
    glueName('--symbol-column'),
  )
  .option(
    '--price-column <name>',
    'named queries: price column (default: found in the table: price, close or last)',
    glueName('--price-column'),
  )
  .option(
    '--size-column <name>',
    'named queries: traded size column (default: found in the table: size, volume, quantity or qty)',
    glueName('--size-column'),
  )
  .option(
    '--time-column <name>',
    'named queries: event-time column (default: found in the table: event_time, timestamp, time, datetime or date)',
    glueName('--time-column'),
  )
  .option('--database <name>', 'Glue database (default: TICKSYNC_GLUE_DATABASE)')
  .option('--workgroup <name>', 'Athena work group (default: TICKSYNC_ATHENA_WORKGROUP)')
  .option('--output-location <s3-url>', 'where Athena writes results (default: TICKSYNC_ATHENA_OUTPUT_LOCATION)')
  .option(
    '--max-rows <n>',
    'rows to print at most (the CSV in S3 holds all)',
    positiveInteger('--max-rows'),
    QUERY_DEFAULTS.maxRows,
  )
  .addOption(new Option('--format <format>', 'output').choices(['table', 'csv', 'json']).default('table'))
  .action(async (sqlArgument: string | undefined, options: QueryOptions) => {
    const config = loadConfig();
    const request = queryRequest(sqlArgument, options, config);
    // With csv or json, stdout carries the result alone; the lines that tell what happens go to stderr.
    const print = options.format === 'table' ? console.log : console.error;
    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.queryTaskQueue]);
      // A short id keeps the Web UI link within a terminal's line.
      const workflowId = `query-${options.named ?? 'sql'}-${crypto.randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start(queryWorkflow, {
        workflowId,
        taskQueue: config.temporal.queryTaskQueue,
        args: [queryInput(request, options, config)],
        staticSummary: request.named
          ? `query ${request.named.name}: the last ${options.minutes} minutes of ${options.time} time in ${request.named.options.table}`
          : `query: ${request.sql!.replace(/\s+/g, ' ').slice(0, 80)}`,
        staticDetails: request.sql,
        typedSearchAttributes: searchAttributes('query', request.named && config.kafka.topic),
      });
      const url = workflowUrl(config, workflowId);
      let interrupted = false;
      process.once('SIGINT', () => {
        interrupted = true;
        console.error('\ncancelling the query (Athena is asked to stop it)…');
        handle.cancel().catch((error: unknown) => console.error(`could not cancel: ${rootCauseMessage(error)}`));
      });
      try {
        const result = await watch(handle);
        const heading = namedHeading(result);
        if (heading) print(heading);
        console.log(formatResult(result, options.format));
        print(`${summaryLine(result)}\nWorkflow: ${url}`);
      } catch (error) {
        if (error instanceof WorkflowFailedError && interrupted && error.cause instanceof CancelledFailure) {
          console.error(`query cancelled\nWorkflow: ${url}`);
          process.exitCode = 130;
          return;
        }
        if (error instanceof WorkflowFailedError)
          throw new Error(`${error.cause?.message ?? rootCauseMessage(error)}\nWorkflow: ${url}`, { cause: error });
        throw error;
      }
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
