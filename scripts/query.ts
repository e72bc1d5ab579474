import crypto from 'node:crypto';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify/sync';
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
import { type QueryInput, queryProgressQuery, type QueryResult } from '../lib/contracts';
import { queryWorkflow } from '../workflows';
import { awaitWhileWatching, connectTemporal, firstRows, positiveInteger, runCli, textTable } from './cli';

type Format = 'table' | 'csv' | 'json';

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
  format: Format;
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

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'bigint']);
const NUMBER_TYPES = new Set(['real', 'double', 'float']);

/** A value as JSON: numbers and booleans typed (a bigint beyond 2^53 stays a string), the rest strings. */
function jsonValue(value: string | null, type: string): unknown {
  if (value === null) return null;
  if (type === 'boolean') return value === 'true';
  if (INTEGER_TYPES.has(type)) return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (NUMBER_TYPES.has(type) || type.startsWith('decimal')) {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  return value;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
function bytes(value: number | undefined): string {
  let size = value ?? 0;
  let unit = 0;
  while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(2)} ${SIZE_UNITS[unit]}`;
}

const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(2)} s`;

/** The lines under the rows: how many, how long, how much data was read, and where the whole result is. */
export function summaryLine(result: QueryResult): string {
  const { statistics } = result;
  const rows = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  const truncated = result.truncated ? ` (the first ${result.rows.length}; the whole result is in the CSV)` : '';
  return (
    `${rows}${truncated} in ${seconds(statistics.totalMs)} ` +
    `(queued ${seconds(statistics.queueMs)}, engine ${seconds(statistics.engineMs)}), ` +
    `data scanned ${bytes(statistics.dataScannedBytes)}\n` +
    `Query ${result.queryExecutionId}\nResults: ${result.outputLocation}`
  );
}

/** A named query's window and columns, in words: printed above its rows. */
export function namedHeading(result: QueryResult): string | undefined {
  const { named } = result;
  return named && `${named.name}: ${named.time}\ncolumns: ${named.columns}; times in UTC`;
}

/**
 * `trades` counts its whole window in a last column (window_trades): in a table that
 * count becomes the footer, and the column leaves the rows (csv and json keep it).
 */
function splitTradeCount(result: QueryResult): { result: QueryResult; footer?: string } {
  const last = result.columns.length - 1;
  if (result.named?.name !== 'trades' || result.columns[last]?.name !== 'window_trades') return { result };
  const count = Number(result.rows[0]?.[last] ?? 0);
  const shown = result.rows.length < count ? ` (the latest ${result.rows.length} shown; --limit for more)` : '';
  return {
    result: { ...result, columns: result.columns.slice(0, last), rows: result.rows.map((row) => row.slice(0, last)) },
    footer: `${count} trade${count === 1 ? '' : 's'} in the window${shown}`,
  };
}

/**
 * A value as a table shows it, short enough for a terminal: a fractional number with
 * 2 decimals (4 below 1), a timestamp without zero seconds and its UTC zone (the
 * heading says times are UTC). csv and json keep the values as Athena wrote them.
 */
export function displayValue(value: string | null, type: string): string {
  if (value === null) return 'NULL';
  if (NUMBER_TYPES.has(type) || type.startsWith('decimal')) {
    const number = Number(value);
    if (!Number.isFinite(number) || Number.isInteger(number)) return value;
    return number.toLocaleString('en-US', { maximumFractionDigits: Math.abs(number) < 1 ? 4 : 2, useGrouping: false });
  }
  if (type.startsWith('timestamp')) return value.replace(/ UTC$/, '').replace(/(:00)?\.000$/, '');
  return value;
}

/** Rows a table shows at most; csv and json print every row fetched. */
export const TABLE_ROWS = 50;

export function formatResult(input: QueryResult, format: Format, tableRows = TABLE_ROWS): string {
  if (format === 'csv') return stringify([input.columns.map((column) => column.name), ...input.rows]).trimEnd();
  if (format === 'json') {
    const rows = input.rows.map((row) =>
      Object.fromEntries(
        row.map((value, index) => [input.columns[index]!.name, jsonValue(value, input.columns[index]!.type)]),
      ),
    );
    return JSON.stringify({ ...input, rows }, null, 2);
  }
  const { result, footer } = splitTradeCount(input);
  const names = result.columns.map((column) => column.name);
  const { shown, more } = firstRows(result.rows, tableRows);
  const table = textTable(
    names,
    shown.map((row) => row.map((value, index) => displayValue(value, result.columns[index]!.type))),
  );
  return [table, more, footer].filter((line) => line !== undefined).join('\n');
}

function queryInput(request: Pick<QueryInput, 'sql' | 'named'>, options: QueryOptions, config: Config): QueryInput {
  return {
    ...request,
    database: options.database ?? config.glue.database,
    workGroup: options.workgroup ?? config.athena.workgroup,
    outputLocation: options.outputLocation ?? config.athena.outputLocation,
    maxRows: options.maxRows,
    pollInitialMs: 200,
    pollMaxMs: 5000,
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
  .option('--max-rows <n>', 'rows to print at most (the CSV in S3 holds all)', positiveInteger('--max-rows'), 1000)
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
