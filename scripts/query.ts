import crypto from 'node:crypto';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import Table from 'cli-table3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { loadConfig, type Config } from '../lib/config';
import { UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import {
  NAMED_QUERY_DEFAULTS,
  NAMED_QUERY_DESCRIPTIONS,
  NAMED_QUERY_NAMES,
  namedQuerySql,
  tableForTopic,
  type NamedQueryName,
} from '../lib/queries';
import { assertWorkersPolling, connectClient, rootCauseMessage, workflowUrl } from '../lib/temporal';
import type { QueryInput, QueryResult } from '../lib/types';
import { queryWorkflow } from '../workflows';
import { queryProgressQuery } from '../workflows/query';
import { awaitWhileWatching, PLAIN_TABLE, positiveInteger, runCli } from './cli';

type Format = 'table' | 'csv' | 'json';

interface QueryOptions {
  named?: NamedQueryName;
  minutes: number;
  limit: number;
  table?: string;
  symbolColumn: string;
  priceColumn: string;
  sizeColumn: string;
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

/** The SQL to run: the argument, or a named query built from the flags. */
export function querySql(sql: string | undefined, options: QueryOptions, config: Config): string {
  if (sql !== undefined && options.named) throw new UsageError('give either SQL or --named, not both');
  if (options.named) {
    return namedQuerySql(options.named, {
      table: options.table ?? tableForTopic(config.kafka.topic),
      minutes: options.minutes,
      limit: options.limit,
      symbolColumn: options.symbolColumn,
      priceColumn: options.priceColumn,
      sizeColumn: options.sizeColumn,
    });
  }
  if (sql === undefined || sql.trim() === '')
    throw new UsageError('give the SQL to run, e.g. npm run query -- "SELECT 1", or --named <query>');
  return sql;
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

/** The line under the rows: how many, how long, how much data was read, and where the whole result is. */
export function summaryLine(result: QueryResult): string {
  const { statistics } = result;
  const rows = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  const truncated = result.truncated ? ` (the first ${result.rows.length}; the whole result is in the CSV)` : '';
  return (
    `${rows}${truncated} in ${seconds(statistics.totalMs)} ` +
    `(queued ${seconds(statistics.queueMs)}, engine ${seconds(statistics.engineMs)}), ` +
    `data scanned ${bytes(statistics.dataScannedBytes)}\n` +
    `Query ${result.queryExecutionId}; results: ${result.outputLocation}`
  );
}

export function formatResult(result: QueryResult, format: Format): string {
  const names = result.columns.map((column) => column.name);
  if (format === 'csv') return stringify([names, ...result.rows]).trimEnd();
  if (format === 'json') {
    const rows = result.rows.map((row) =>
      Object.fromEntries(row.map((value, index) => [names[index], jsonValue(value, result.columns[index]!.type)])),
    );
    return JSON.stringify({ ...result, rows }, null, 2);
  }
  const table = new Table({ head: names, ...PLAIN_TABLE });
  for (const row of result.rows) table.push(row.map((value) => value ?? 'NULL'));
  return table.toString();
}

function queryInput(sql: string, options: QueryOptions, config: Config): QueryInput {
  return {
    sql,
    database: options.database ?? config.glue.database,
    workGroup: options.workgroup ?? config.athena.workgroup,
    outputLocation: options.outputLocation ?? config.athena.outputLocation,
    maxRows: options.maxRows,
    pollInitialMs: 200,
    pollMaxMs: 5000,
  };
}

async function watch(handle: WorkflowHandle<typeof queryWorkflow>, print: (line: string) => void) {
  const logger = createLogger('query');
  let shown = '';
  return awaitWhileWatching(
    handle.result(),
    async () => {
      const progress = await handle.query(queryProgressQuery).catch(() => undefined);
      if (progress && progress.phase !== shown) {
        shown = progress.phase;
        print(`${progress.phase.toLowerCase()}${progress.queryExecutionId ? ` (${progress.queryExecutionId})` : ''}`);
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
    'named queries: the window, in minutes of arrival time',
    positiveInteger('--minutes'),
    NAMED_QUERY_DEFAULTS.minutes,
  )
  .option('--limit <n>', 'top-volume: rows', positiveInteger('--limit'), NAMED_QUERY_DEFAULTS.limit)
  .option('--table <name>', 'named queries: the table (default: the crawled TICKSYNC_TOPIC)', glueName('--table'))
  .option('--symbol-column <name>', 'named queries: symbol column', glueName('--symbol-column'), 'symbol')
  .option('--price-column <name>', 'named queries: price column', glueName('--price-column'), 'price')
  .option('--size-column <name>', 'named queries: traded size column', glueName('--size-column'), 'size')
  .option('--database <name>', 'Glue database (default: TICKSYNC_GLUE_DATABASE)')
  .option('--workgroup <name>', 'Athena work group (default: TICKSYNC_ATHENA_WORKGROUP)')
  .option('--output-location <s3-url>', 'where Athena writes results (default: TICKSYNC_ATHENA_OUTPUT_LOCATION)')
  .option('--max-rows <n>', 'rows to print at most (the CSV in S3 holds all)', positiveInteger('--max-rows'), 1000)
  .addOption(new Option('--format <format>', 'output').choices(['table', 'csv', 'json']).default('table'))
  .showHelpAfterError()
  .action(async (sqlArgument: string | undefined, options: QueryOptions) => {
    const config = loadConfig();
    const sql = querySql(sqlArgument, options, config);
    // With csv or json, stdout carries the result alone; the lines that tell what happens go to stderr.
    const print = options.format === 'table' ? console.log : console.error;
    const client = await connectClient(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.queryTaskQueue]);
      const workflowId = `query-${options.named ?? 'sql'}-${crypto.randomUUID()}`;
      const handle = await client.workflow.start(queryWorkflow, {
        workflowId,
        taskQueue: config.temporal.queryTaskQueue,
        args: [queryInput(sql, options, config)],
      });
      const url = workflowUrl(config, workflowId);
      print(`Workflow: ${url}`);
      let interrupted = false;
      process.once('SIGINT', () => {
        interrupted = true;
        console.error('\ncancelling the query (Athena is asked to stop it)…');
        handle.cancel().catch((error: unknown) => console.error(`could not cancel: ${rootCauseMessage(error)}`));
      });
      try {
        const result = await watch(handle, print);
        console.log(formatResult(result, options.format));
        print(summaryLine(result));
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
