import {
  ParentClosePolicy,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { IngestActivities, QueryActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import { hourKey } from '../lib/hour-keys';
import { NAMED_QUERY_NAMES } from '../lib/queries';
import { searchAttributes } from '../lib/search-attributes';
import {
  PIPELINE_DEFAULTS,
  pipelineProgressQuery,
  type ConsumerProgress,
  type PipelineInput,
  type PipelineProgress,
  type PipelineQuery,
  type PipelineReport,
  type QueryInput,
} from '../lib/contracts';
import { consumerWorkflow } from './consumer';
import { crawlWorkflow } from './crawl';
import { queryWorkflow } from './query';
import { replayWorkflow } from './replay';

/** The patch under which the report lists the compacted hours (an activity older histories do not have). */
const REPORT_COMPACTED_HOURS = 'report-compacted-hours';

/**
 * The whole pipeline, each stage a child workflow visible on its own: starts the
 * consumer (or joins it), replays the file into Kafka, waits until the consumer
 * has written everything the replay sent (by the topic's end offsets), crawls,
 * and runs the named queries. Returns a report of every stage.
 */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineReport> {
  const started = Date.now();
  const { workflowId } = workflowInfo();
  const progress: PipelineProgress = { phase: 'starting', stages: [] };
  setHandler(pipelineProgressQuery, () => progress);
  // Kafka and the consumer's query: retried without end while the broker or the consumer's worker is away.
  const retry = {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
  const ingest = proxyActivities<IngestActivities>({
    taskQueue: input.taskQueues.ingest,
    startToCloseTimeout: '1 minute',
    retry,
  });
  const { waitForConsumerFlushed } = proxyActivities<IngestActivities>({
    taskQueue: input.taskQueues.ingest,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '30 seconds',
    retry,
  });

  const { topic, runId } = input.replay;
  /** A child's Web UI identity: a summary, details, and the run's search attributes. */
  const child = (stage: 'replay' | 'consume' | 'crawl' | 'query', staticSummary: string, staticDetails?: string) => ({
    staticSummary,
    staticDetails,
    typedSearchAttributes: searchAttributes(stage, topic, stage === 'consume' ? undefined : runId),
  });

  /** Runs a stage and records its workflow and duration. */
  async function stage<T>(name: string, childId: string, run: () => Promise<T>): Promise<T> {
    const at = Date.now();
    const result = await run();
    progress.stages.push({
      stage: name,
      workflowId: childId,
      url: `${input.workflowsUrl}${encodeURIComponent(childId)}`,
      durationMs: Date.now() - at,
    });
    return result;
  }

  progress.phase = 'consumer';
  // The consumer outlives the pipeline: it keeps the lake current for later replays.
  const joined = await stage('consumer', input.consumerWorkflowId, async () => {
    try {
      await startChild(consumerWorkflow, {
        workflowId: input.consumerWorkflowId,
        taskQueue: input.taskQueues.ingest,
        args: [input.consumer],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // The consumer serves every later run too: no run id.
        ...child('consume', `consume ${topic} into S3 (group ${input.consumer.groupId})`),
      });
      return false;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return true;
      throw error;
    }
  });
  const before: ConsumerProgress = await ingest.consumerProgress.executeWithOptions(
    { summary: `progress of the consumer ${input.consumerWorkflowId}` },
    [input.consumerWorkflowId],
  );

  progress.phase = 'replaying';
  const replayId = `replay-${input.replay.runId}`;
  const replay = await stage('replay', replayId, () =>
    executeChild(replayWorkflow, {
      workflowId: replayId,
      taskQueue: input.taskQueues.ingest,
      args: [input.replay],
      ...child(
        'replay',
        `replay ${input.replay.source.split('/').pop()} into ${topic}`,
        `source: ${input.replay.source}`,
      ),
    }),
  );

  progress.phase = 'flushing';
  const targets = await ingest.topicEndOffsets.executeWithOptions({ summary: `end offsets of ${topic}` }, [topic]);
  // The consumer is a workflow of its own (a child of the pipeline that started it): named here, linked in the UI.
  const after = await stage('flush', input.consumerWorkflowId, () =>
    waitForConsumerFlushed.executeWithOptions(
      {
        summary: `wait for ${input.consumerWorkflowId} to write ${topic} to S3`,
      },
      [{ workflowId: input.consumerWorkflowId, targets }],
    ),
  );

  progress.phase = 'crawling';
  const crawlId = `${workflowId}-crawl`;
  const crawl = await stage('crawl', crawlId, () =>
    executeChild(crawlWorkflow, {
      workflowId: crawlId,
      taskQueue: input.taskQueues.catalog,
      args: [input.crawl],
      ...child('crawl', `crawl with ${input.crawl.crawler}`),
    }),
  );

  progress.phase = 'querying';
  const { database, workGroup, outputLocation, ...given } = input.query;
  // Pipelines started before the named queries had a clock or a limit windowed on arrival, 10 rows.
  const options = { ...given, time: given.time ?? 'arrival', limit: given.limit ?? 10 };
  const query = (name: string, source: Pick<QueryInput, 'sql' | 'named'>, about: string) => {
    const childId = `${workflowId}-query-${name}`;
    const args: [QueryInput] = [{ ...source, database, workGroup, outputLocation, ...PIPELINE_DEFAULTS.query }];
    return stage(`query ${name}`, childId, () =>
      executeChild(queryWorkflow, {
        workflowId: childId,
        taskQueue: input.taskQueues.query,
        args,
        ...child('query', `query ${name}: ${about}`, source.sql),
      }),
    );
  };
  // This run's rows, in the partitions written since the pipeline started.
  const countSql =
    `SELECT count(*) AS rows FROM ${options.table} WHERE dt || hour >= '${hourKey(started)}' ` +
    `AND run_id = '${input.replay.runId.replace(/'/g, "''")}'`;
  const { compactedHours } = proxyActivities<QueryActivities>({
    taskQueue: input.taskQueues.query,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  });
  const [count, partitions, compacted, ...results] = await Promise.all([
    query('run-rows', { sql: countSql }, `this run's rows in ${options.table}`),
    query('partitions', { sql: `SHOW PARTITIONS ${options.table}` }, `the partitions of ${options.table}`),
    // Pipelines started before the report listed compacted hours replay without the call.
    patched(REPORT_COMPACTED_HOURS) ? compactedHours({ database, table: options.table }) : Promise.resolve([]),
    ...NAMED_QUERY_NAMES.map(async (name): Promise<PipelineQuery> => {
      const result = await query(
        name,
        { named: { name, options } },
        `the last ${options.minutes} minutes of ${options.time} time in ${options.table}`,
      );
      return { name, sql: result.named?.sql ?? '', result };
    }),
  ]);

  progress.phase = 'done';
  return {
    runId: input.replay.runId,
    topic: input.replay.topic,
    replay,
    consumer: {
      workflowId: input.consumerWorkflowId,
      joined,
      flushed: after.totals.records - before.totals.records,
      deadLettered: after.totals.deadLetters - before.totals.deadLetters,
      objects: after.totals.objects - before.totals.objects,
    },
    crawl,
    catalog: { table: `${database}.${options.table}`, partitions: partitions.rows.length, compacted },
    lakeRows: Number(count.rows[0]?.[0] ?? 0),
    queries: results,
    stages: progress.stages,
    totalMs: Date.now() - started,
  };
}
