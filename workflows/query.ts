import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
} from '@temporalio/workflow';
import type { QueryActivities } from '../activities';
import type { StartQueryInput } from '../activities/athena';
import { ErrorType } from '../lib/errors';
import {
  queryProgressQuery,
  type QueryInput,
  type QueryProgress,
  type QueryResult,
  type QueryStatus,
} from '../lib/contracts';
import { AWS_RETRY, surfaced } from './aws-calls';

const { startQuery, getQueryStatus, stopQuery, namedQueryFor } = proxyActivities<QueryActivities>({
  startToCloseTimeout: '1 minute',
  retry: AWS_RETRY,
});
const { fetchQueryResults } = proxyActivities<QueryActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: AWS_RETRY,
});

const isOver = (status: QueryStatus) => status.state !== 'QUEUED' && status.state !== 'RUNNING';

/**
 * Runs one SQL statement on Athena (query-with-polling), or a named query
 * built first for its table's columns as the catalog has them: starts it with a
 * ClientRequestToken drawn once by the workflow, so a retried start never runs
 * a second query; polls GetQueryExecution with backoff until the query is over;
 * fetches up to `maxRows` rows (the whole result stays in S3 at the output
 * location). A FAILED or CANCELLED query fails the run, non-retryably, with
 * Athena's reason; cancelling the run stops the query.
 */
export async function queryWorkflow(input: QueryInput): Promise<QueryResult> {
  const progress: QueryProgress = { phase: 'starting', polls: 0 };
  setHandler(queryProgressQuery, () => progress);
  // Deterministic: a replay of this workflow draws the same token.
  const clientRequestToken = uuid4();
  let start: StartQueryInput | undefined;
  try {
    const named =
      input.named &&
      (await namedQueryFor.executeWithOptions(
        { summary: `columns of ${input.database}.${input.named.options.table} for ${input.named.name}` },
        [{ database: input.database, ...input.named }],
      ));
    const sql = named?.sql ?? input.sql;
    if (sql === undefined)
      throw ApplicationFailure.create({
        type: ErrorType.InvalidInput,
        message: 'the query input has neither sql nor a named query',
        nonRetryable: true,
      });
    start = { ...input, sql, clientRequestToken };
    const queryExecutionId = await startQuery.executeWithOptions({ summary: 'start the query on Athena' }, [start]);
    progress.queryExecutionId = queryExecutionId;

    let status: QueryStatus;
    for (let wait = input.pollInitialMs; ; wait = Math.min(wait * 2, input.pollMaxMs)) {
      status = await getQueryStatus(queryExecutionId);
      Object.assign(progress, { phase: status.state, statistics: status.statistics });
      progress.polls += 1;
      if (isOver(status)) break;
      await sleep(wait);
    }

    if (status.state === 'FAILED') {
      throw ApplicationFailure.create({
        type: ErrorType.QueryFailed,
        message: `query ${queryExecutionId} failed: ${status.stateChangeReason ?? status.error?.message ?? 'no reason given'}`,
        nonRetryable: true,
        details: [status.error],
      });
    }
    if (status.state === 'CANCELLED') {
      throw ApplicationFailure.create({
        type: ErrorType.QueryCancelled,
        message: `query ${queryExecutionId} was cancelled: ${status.stateChangeReason ?? 'it was stopped'}`,
        nonRetryable: true,
      });
    }

    progress.phase = 'fetching';
    const rows = await fetchQueryResults.executeWithOptions({ summary: `fetch up to ${input.maxRows} rows` }, [
      {
        queryExecutionId,
        maxRows: input.maxRows,
        statementType: status.statementType,
      },
    ]);
    progress.phase = 'SUCCEEDED';
    return {
      queryExecutionId,
      named,
      outputLocation: status.outputLocation ?? '',
      statementType: status.statementType,
      statistics: status.statistics,
      ...rows,
    };
  } catch (error) {
    if (isCancellation(error)) {
      progress.phase = 'CANCELLED';
      // The query may have started even if the start's answer never came: the same token finds it.
      const started = start;
      if (started)
        await CancellationScope.nonCancellable(async () => stopQuery(await startQuery(started))).catch(
          (stopError: unknown) => log.warn('could not stop the query', { error: String(stopError) }),
        );
      throw error;
    }
    const failure = surfaced(error);
    progress.phase = 'FAILED';
    progress.error = failure instanceof Error ? failure.message : String(failure);
    throw failure;
  }
}
