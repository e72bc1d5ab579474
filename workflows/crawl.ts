import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import { ErrorType } from '../lib/errors';
import { AWS_RETRY, surfaced } from './aws-calls';
import {
  crawlProgressQuery,
  type CrawlerState,
  type CrawlInput,
  type CrawlProgress,
  type CrawlResult,
  type StartCrawlerResult,
  CRAWL_DEFAULTS,
} from '../lib/contracts';

const { getCrawlerState, snapshotCatalog, startCrawler, stopCrawler } = proxyActivities<CatalogActivities>({
  startToCloseTimeout: '1 minute',
  retry: AWS_RETRY,
});
const { describeCrawlChanges } = proxyActivities<CatalogActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: AWS_RETRY,
});

const isOver = (state: CrawlerState, start: StartCrawlerResult) =>
  state.state === 'READY' &&
  state.lastCrawl !== undefined &&
  (start.previousCrawlStartTime === undefined ||
    Date.parse(state.lastCrawl.startTime) > Date.parse(start.previousCrawlStartTime));

/**
 * Runs a Glue crawler and reports what the crawl changed in the catalog: starts
 * it (or joins the crawl already running), polls its state with backoff until it
 * is READY with a LastCrawl later than the one before, then reads the catalog
 * back. A FAILED or CANCELLED crawl fails the run, non-retryably, with the
 * crawler's own message; cancelling the run stops the crawler.
 */
export async function crawlWorkflow(input: CrawlInput): Promise<CrawlResult> {
  const pollInitialSeconds = input.pollInitialSeconds ?? CRAWL_DEFAULTS.pollInitialSeconds;
  const pollMaxSeconds = input.pollMaxSeconds ?? CRAWL_DEFAULTS.pollMaxSeconds;
  const progress: CrawlProgress = { crawler: input.crawler, phase: 'starting', polls: 0 };
  setHandler(crawlProgressQuery, () => progress);

  let startRequested = false;
  try {
    const initial = await getCrawlerState(input.crawler);
    // Taken before the start, so that columns a crawl adds to an existing table can be told apart.
    const snapshot = await snapshotCatalog(initial.databases);
    startRequested = true;
    const start = await startCrawler(input.crawler);
    Object.assign(progress, { phase: 'crawling', outcome: start.outcome, startTime: start.startTime });

    let state: CrawlerState;
    for (let wait = pollInitialSeconds; ; wait = Math.min(wait * 2, pollMaxSeconds)) {
      progress.nextPollSeconds = wait;
      await sleep(wait * 1000);
      state = await getCrawlerState(input.crawler);
      progress.polls += 1;
      progress.crawlerState = state.state;
      if (isOver(state, start)) break;
    }
    const readyAt = Date.now();
    const lastCrawl = state.lastCrawl!;
    Object.assign(progress, { lastCrawl, startTime: lastCrawl.startTime, nextPollSeconds: undefined });

    if (lastCrawl.status === 'FAILED') {
      throw ApplicationFailure.create({
        type: ErrorType.CrawlFailed,
        message: `crawler ${input.crawler} failed: ${lastCrawl.errorMessage ?? 'no error message given'}`,
        nonRetryable: true,
        details: [lastCrawl],
      });
    }
    if (lastCrawl.status === 'CANCELLED') {
      throw ApplicationFailure.create({
        type: ErrorType.CrawlCancelled,
        message: `crawl of ${input.crawler} started at ${lastCrawl.startTime} was cancelled: the crawler was stopped`,
        nonRetryable: true,
        details: [lastCrawl],
      });
    }

    progress.phase = 'summarizing';
    const { runtimeSeconds, ...changes } = await describeCrawlChanges({
      crawler: input.crawler,
      databases: state.databases,
      since: lastCrawl.startTime,
      snapshot,
    });
    progress.phase = 'succeeded';
    return {
      crawler: input.crawler,
      outcome: start.outcome,
      status: 'SUCCEEDED',
      startTime: lastCrawl.startTime,
      // Seen from here the crawl ends at the poll that found it over; the crawler's own figure is closer.
      durationSeconds: runtimeSeconds ?? Math.max(0, (readyAt - Date.parse(lastCrawl.startTime)) / 1000),
      ...changes,
    };
  } catch (error) {
    if (isCancellation(error)) {
      progress.phase = 'cancelled';
      // The crawl was asked for: stop it, even though this run is being cancelled, then report the cancellation.
      if (startRequested) {
        await CancellationScope.nonCancellable(() => stopCrawler(input.crawler)).catch((stopError: unknown) =>
          log.warn('could not stop the crawler', { crawler: input.crawler, error: String(stopError) }),
        );
      }
      throw error;
    }
    progress.phase = 'failed';
    const failure = surfaced(error);
    progress.error = failure instanceof Error ? failure.message : String(failure);
    throw failure;
  }
}
