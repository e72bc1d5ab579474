import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { callAws } from '../lib/errors';
import type { TickSyncMetrics } from '../lib/metrics';
import type { QueryInput, QueryRows, QueryState, QueryStatus } from '../lib/contracts';

export interface AthenaActivityDeps {
  /** A client with the analyst role's credentials. */
  athena: AthenaClient;
  logger: Logger;
  metrics: TickSyncMetrics;
}

/** Finished executions remembered so that each is counted once however often its status is read. */
const EXECUTIONS_REMEMBERED = 10_000;
const FINISHED: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface StartQueryInput extends Pick<QueryInput, 'database' | 'workGroup' | 'outputLocation'> {
  sql: string;
  /** Athena's idempotency token: a retried start with the same token returns the same execution. */
  clientRequestToken: string;
}

export interface FetchResultsInput {
  queryExecutionId: string;
  maxRows: number;
  /** A DML statement's first row is its header. */
  statementType?: string;
}

export function createAthenaActivities({ athena, logger, metrics }: AthenaActivityDeps) {
  const abortSignal = () => Context.current().cancellationSignal;
  const counted = new Set<string>();

  function countFinished({ queryExecutionId, state, statistics }: QueryStatus) {
    if (!FINISHED.has(state) || counted.has(queryExecutionId)) return;
    counted.add(queryExecutionId);
    if (counted.size > EXECUTIONS_REMEMBERED) counted.delete(counted.values().next().value as string);
    metrics.queries.add(1, { state });
    if (statistics.totalMs !== undefined) metrics.queryDuration.record(statistics.totalMs / 1000, { state });
  }

  /** StartQueryExecution, idempotent through the token. */
  async function startQuery(input: StartQueryInput): Promise<string> {
    const { QueryExecutionId } = await callAws('StartQueryExecution', () =>
      athena.send(
        new StartQueryExecutionCommand({
          QueryString: input.sql,
          QueryExecutionContext: { Database: input.database },
          WorkGroup: input.workGroup,
          ResultConfiguration: input.outputLocation ? { OutputLocation: input.outputLocation } : undefined,
          ClientRequestToken: input.clientRequestToken,
        }),
        { abortSignal: abortSignal() },
      ),
    );
    if (!QueryExecutionId) throw new Error('StartQueryExecution answered without a QueryExecutionId');
    logger.info({ queryExecutionId: QueryExecutionId, workGroup: input.workGroup }, 'query started');
    return QueryExecutionId;
  }

  /** GetQueryExecution: state, reason, error and statistics. */
  async function getQueryStatus(queryExecutionId: string): Promise<QueryStatus> {
    const { QueryExecution: execution } = await callAws('GetQueryExecution', () =>
      athena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }), {
        abortSignal: abortSignal(),
      }),
    );
    const status = execution?.Status;
    if (!execution || !status?.State) throw new Error(`GetQueryExecution ${queryExecutionId} answered without a state`);
    const error = status.AthenaError;
    const statistics = execution.Statistics;
    const result: QueryStatus = {
      queryExecutionId,
      state: status.State as QueryState,
      stateChangeReason: status.StateChangeReason,
      error: error && {
        category: error.ErrorCategory,
        type: error.ErrorType,
        retryable: error.Retryable,
        message: error.ErrorMessage,
      },
      statementType: execution.StatementType,
      outputLocation: execution.ResultConfiguration?.OutputLocation,
      statistics: {
        engineMs: statistics?.EngineExecutionTimeInMillis,
        queueMs: statistics?.QueryQueueTimeInMillis,
        planningMs: statistics?.QueryPlanningTimeInMillis,
        totalMs: statistics?.TotalExecutionTimeInMillis,
        dataScannedBytes: statistics?.DataScannedInBytes,
      },
    };
    countFinished(result);
    return result;
  }

  /**
   * GetQueryResults, page after page (1,000 rows each), until `maxRows` data
   * rows are read or the result ends. Heartbeats after each page.
   */
  async function fetchQueryResults({
    queryExecutionId,
    maxRows,
    statementType,
  }: FetchResultsInput): Promise<QueryRows> {
    const result: QueryRows = { columns: [], rows: [], truncated: false };
    let skipHeader = statementType === 'DML';
    let nextToken: string | undefined;
    do {
      const page = await callAws('GetQueryResults', () =>
        athena.send(
          new GetQueryResultsCommand({
            QueryExecutionId: queryExecutionId,
            NextToken: nextToken,
            MaxResults: Math.min(1000, maxRows - result.rows.length + (skipHeader ? 1 : 0)),
          }),
          { abortSignal: abortSignal() },
        ),
      );
      if (result.columns.length === 0) {
        result.columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => ({
          name: column.Name ?? '',
          type: column.Type ?? '',
        }));
      }
      const rows = (page.ResultSet?.Rows ?? []).map((row) =>
        (row.Data ?? []).map((datum) => datum.VarCharValue ?? null),
      );
      if (skipHeader) rows.shift();
      skipHeader = false;
      result.rows.push(...rows);
      nextToken = page.NextToken;
      Context.current().heartbeat(result.rows.length);
    } while (nextToken && result.rows.length < maxRows);
    result.truncated = nextToken !== undefined;
    return result;
  }

  /** StopQueryExecution: a query that is over already is left as it is. */
  async function stopQuery(queryExecutionId: string): Promise<void> {
    await callAws('StopQueryExecution', () =>
      athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }), {
        abortSignal: abortSignal(),
      }),
    );
    logger.info({ queryExecutionId }, 'query stop requested');
  }

  return { startQuery, getQueryStatus, fetchQueryResults, stopQuery };
}
