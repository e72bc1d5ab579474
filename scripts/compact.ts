import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lib/config';
import { hourFolder, parseLakeHour } from '../lib/hour-keys';
import { searchAttributes } from '../lib/search-attributes';
import { assertWorkersPolling, rootCauseMessage, workflowUrl } from '../lib/temporal';
import type { CompactResult, LakeHour } from '../lib/contracts';
import { compactWorkflow } from '../workflows';
import { compactInput, type CompactOptions, compactWorkflowId } from '../lib/workflow-inputs';
import { compactionOptions, connectTemporal, formatDuration, runCli, textTable } from './cli';

/** `2024-01-02T03`, `2024-01-02/03` or `dt=2024-01-02/hour=03`, as partition values. */
export function parseHour(value: string): LakeHour {
  const hour = parseLakeHour(value);
  if (!hour) {
    throw new InvalidArgumentError(
      `--hour expects a UTC hour such as 2024-01-02T03 or dt=2024-01-02/hour=03, got '${value}'`,
    );
  }
  return hour;
}

export function describeCompaction(result: CompactResult): string {
  if (result.hours.length === 0) return 'no closed hour to compact';
  return textTable(
    ['hour', 'outcome', 'raw objects', 'records', 'files', 'MB', 'dead letters'],
    result.hours.map((hour) => [
      hourFolder(hour),
      hour.outcome,
      String(hour.rawObjects),
      String(hour.records),
      String(hour.files),
      (hour.bytes / 1_048_576).toFixed(1),
      String(hour.deadLetters),
    ]),
  );
}

const program = new Command('npm run compact --')
  .description(
    'Compact closed hours of the raw topic table into Parquet under curated/ (compactWorkflow on the compact ' +
      'workers): each hour is published in one catalog step, so queries read it raw or compacted, never both. ' +
      'Without --hour: every hour the catalog knows that closed (ended more than --grace ago) within --lookback, ' +
      'new ones and those whose raw objects changed (late records) since they were compacted.',
  )
  .option(
    '--hour <hour>',
    'a UTC hour to compact, such as 2024-01-02T03 (repeat for more)',
    (value: string, previous: LakeHour[] = []) => [...previous, parseHour(value)],
  );
compactionOptions(program, 'how far back to look for hours to compact without --hour')
  .option('--database <name>', 'Glue database (default: TICKSYNC_GLUE_DATABASE)')
  .option('--json', 'print the result as JSON')
  .action(async (options: CompactOptions & { json?: boolean }) => {
    const config = loadConfig();
    const input = compactInput(options, { table: config.kafka.topic, database: config.glue.database });
    const print = options.json ? console.error : console.log;
    const client = await connectTemporal(config);
    try {
      await assertWorkersPolling(client, config, [config.temporal.compactTaskQueue]);
      const workflowId = compactWorkflowId(input.table);
      try {
        await client.workflow.start(compactWorkflow, {
          workflowId,
          taskQueue: config.temporal.compactTaskQueue,
          args: [input],
          staticSummary: `compact closed hours of ${input.database}.${input.table}`,
          typedSearchAttributes: searchAttributes('compact', input.table),
        });
        print(`compaction of ${input.database}.${input.table} started as ${workflowId}`);
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        print(`a compaction of ${input.table} is already running as ${workflowId}: attaching`);
      }
      const url = workflowUrl(config, workflowId);
      print(`Workflow: ${url}`);
      try {
        const result = await client.workflow.getHandle<typeof compactWorkflow>(workflowId).result();
        console.log(options.json ? JSON.stringify(result, null, 2) : describeCompaction(result));
      } catch (error) {
        if (error instanceof WorkflowFailedError) {
          throw new Error(`${error.cause?.message ?? rootCauseMessage(error)}\nWorkflow: ${url}`, { cause: error });
        }
        throw error;
      }
      print(`grace ${formatDuration(options.grace)}, target ${options.targetMb} MB per file`);
    } finally {
      await client.connection.close();
    }
  });

if (require.main === module) runCli(program);
