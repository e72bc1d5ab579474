import {
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { Command } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/logger';
import { searchAttributes } from '../lib/search-attributes';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import { CRAWL_DEFAULTS, type CrawlProgress, crawlProgressQuery, type CrawlResult } from '../lib/contracts';
import { crawlInput, crawlWorkflowId } from '../lib/workflow-inputs';
import { crawlWorkflow } from '../workflows';
import { awaitWhileWatching, connectTemporal, crawlerName, positiveNumber, runCli } from './cli';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A crawl run of this crawler that is still going: this script's (fixed id) or a
 * Schedule's (the fixed id plus the scheduled time, e.g. crawl-x-2025-01-01T00:05:00Z).
 */
async function findRunningCrawl(client: Client, crawler: string): Promise<string | undefined> {
  const ids = new RegExp(`^${escape(crawlWorkflowId(crawler))}(-\\d{4}-\\d{2}-\\d{2}T[\\d:]+Z)?$`);
  try {
    for await (const execution of client.workflow.list({
      query: `WorkflowType = 'crawlWorkflow' AND ExecutionStatus = 'Running'`,
    })) {
      if (ids.test(execution.workflowId)) return execution.workflowId;
    }
  } catch {
    // Without visibility the fixed id still prevents a second run started from here.
  }
  return undefined;
}

const seconds = (value: number) => `${value.toFixed(1)} s`;

export function describeCrawl(result: CrawlResult): string {
  const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
  const partitions = Object.entries(result.partitionsAdded).map(([table, count]) => `${table} ${count}`);
  const columns = Object.entries(result.columnsAdded).map(
    ([table, added]) => `${table} (${added.map((column) => `${column.name} ${column.type}`).join(', ')})`,
  );
  return [
    `crawl of ${result.crawler} succeeded (${result.outcome === 'joined' ? 'joined the running crawl' : 'started'}): ` +
      `started ${result.startTime}, took ${seconds(result.durationSeconds)}`,
    `tables created:   ${list(result.tablesCreated)}`,
    `tables updated:   ${list(result.tablesUpdated)}`,
    `partitions added: ${list(partitions)}`,
    `columns added:    ${list(columns)}`,
  ].join('\n');
}

function progressLine(progress: CrawlProgress): string {
  const elapsed = progress.startTime ? ` | ${seconds((Date.now() - Date.parse(progress.startTime)) / 1000)}` : '';
  const state = progress.crawlerState ? ` | crawler ${progress.crawlerState}` : '';
  return `${progress.phase}${progress.outcome ? ` (${progress.outcome})` : ''}${state}${elapsed}`;
}

/** Prints a line each time the run's phase or the crawler's state changes, until the run ends. */
async function watch(
  handle: WorkflowHandle<typeof crawlWorkflow>,
  print: (line: string) => void,
): Promise<CrawlResult> {
  const logger = createLogger('crawl');
  let shown = '';
  return awaitWhileWatching(
    handle.result(),
    async () => {
      const progress = await handle.query(crawlProgressQuery).catch(() => undefined);
      const key = progress && `${progress.phase}/${progress.crawlerState}`;
      if (progress && key !== shown) {
        shown = key ?? '';
        print(progressLine(progress));
        logger.info(progress, 'crawl progress');
      }
    },
    1000,
  );
}

interface CrawlOptions {
  crawler?: string;
  wait: boolean;
  json?: boolean;
  pollSeconds?: number;
  pollMaxSeconds?: number;
}

const program = new Command('npm run crawl --')
  .description(
    'Run the Glue crawler as a crawlWorkflow on the catalog workers: start it (or join the crawl already running), ' +
      'wait until it is READY again, and report the tables, partitions and columns it added.',
  )
  .option('--crawler <name>', 'Glue crawler (default: TICKSYNC_GLUE_CRAWLER)', crawlerName('--crawler'))
  .option('--wait', 'wait for the crawl and report what it changed (the default)', true)
  .option('--no-wait', 'start the crawl (or find the one running), print its workflow and exit')
  .option('--json', 'print the result as JSON')
  .option(
    '--poll-seconds <seconds>',
    'first wait between polls of the crawler (doubles each time)',
    positiveNumber('--poll-seconds'),
    CRAWL_DEFAULTS.pollInitialSeconds,
  )
  .option(
    '--poll-max-seconds <seconds>',
    'longest wait between polls',
    positiveNumber('--poll-max-seconds'),
    CRAWL_DEFAULTS.pollMaxSeconds,
  )
  .action(async (options: CrawlOptions) => {
    const config: Config = loadConfig();
    const crawler = options.crawler ?? config.glue.crawler;
    // With --json, stdout carries the result alone; the lines that tell what happens go to stderr.
    const print = options.json ? console.error : console.log;
    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.catalogTaskQueue]);
      let workflowId = await findRunningCrawl(client, crawler);
      let started = false;
      if (workflowId === undefined) {
        workflowId = crawlWorkflowId(crawler);
        try {
          await client.workflow.start(crawlWorkflow, {
            workflowId,
            taskQueue: config.temporal.catalogTaskQueue,
            args: [crawlInput(crawler, options)],
            staticSummary: `crawl with ${crawler}`,
            typedSearchAttributes: searchAttributes('crawl'),
          });
          started = true;
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
      }
      const url = workflowUrl(config, workflowId);
      print(
        started
          ? `crawl of ${crawler} started as ${workflowId}`
          : `a crawl of ${crawler} is already running as ${workflowId}: attaching`,
      );
      print(`Workflow: ${url}`);
      if (!options.wait) return;

      const handle = client.workflow.getHandle<typeof crawlWorkflow>(workflowId);
      let interrupted = false;
      process.once('SIGINT', () => {
        interrupted = true;
        if (!started) {
          console.log(`\nthe crawl keeps running as ${workflowId}`);
          process.exit(130);
        }
        console.error('\ncancelling the crawl (the crawler is stopped)…');
        handle.cancel().catch((error: unknown) => console.error(`could not cancel: ${rootCauseMessage(error)}`));
      });
      try {
        const result = await watch(handle, print);
        console.log(options.json ? JSON.stringify(result, null, 2) : describeCrawl(result));
        print(`Workflow: ${url}`);
      } catch (error) {
        if (error instanceof WorkflowFailedError && interrupted && error.cause instanceof CancelledFailure) {
          console.log(`crawl of ${crawler} cancelled; the crawler was asked to stop\nWorkflow: ${url}`);
          process.exitCode = 130;
          return;
        }
        if (error instanceof WorkflowFailedError) {
          // The run's own failure names the crawler and says what went wrong (the crawler's error message).
          const message =
            error.cause instanceof CancelledFailure
              ? `the crawl run for ${crawler} was cancelled`
              : (error.cause?.message ?? rootCauseMessage(error));
          throw new Error(`${message}\nWorkflow: ${url}`, { cause: error });
        }
        throw error;
      }
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
