import { Command } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { assertWorkersPolling, workflowUrl } from '../lib/temporal';
import type { HealthcheckResult } from '../lib/contracts';
import { healthcheckWorkflow } from '../workflows';
import { connectTemporal, runCli } from './cli';

export interface HealthcheckRun {
  workflowId: string;
  runId: string;
  url: string;
  result: HealthcheckResult;
}

/** Starts healthcheckWorkflow on the catalog queue (its probes run on the ingest queue) and waits for it. */
export async function runHealthcheck(config: Config): Promise<HealthcheckRun> {
  const client = await connectTemporal(config);
  try {
    await assertWorkersPolling(client, config, [config.temporal.catalogTaskQueue, config.temporal.ingestTaskQueue]);
    const workflowId = `healthcheck-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(healthcheckWorkflow, {
      workflowId,
      taskQueue: config.temporal.catalogTaskQueue,
      args: [{ probeId: workflowId, ingestTaskQueue: config.temporal.ingestTaskQueue }],
      workflowExecutionTimeout: '5 minutes',
    });
    const result = await handle.result();
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      url: workflowUrl(config, workflowId, handle.firstExecutionRunId),
      result,
    };
  } finally {
    await client.connection.close();
  }
}

export function describeHealthcheck({ result, url }: HealthcheckRun): string {
  return [
    `Kafka: produced and consumed probe ${result.probeId} on ${result.kafka.topic} partition ${result.kafka.partition} offset ${result.kafka.offset} (${result.kafka.roundTripMs} ms)`,
    `S3:    put, read back and deleted s3://${result.s3.bucket}/${result.s3.key}, ${result.s3.bytes} bytes (${result.s3.roundTripMs} ms)`,
    `Workflow: ${url}`,
  ].join('\n');
}

if (require.main === module) {
  const program = new Command('npm run healthcheck --')
    .description('Run healthcheckWorkflow: one Kafka and one S3 round trip on the running workers')
    .action(async () => {
      console.log(describeHealthcheck(await runHealthcheck(loadConfig())));
    });
  runCli(program);
}
