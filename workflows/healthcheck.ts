import { proxyActivities } from '@temporalio/workflow';
import type { IngestActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import type { HealthcheckInput, HealthcheckResult } from '../lib/contracts';

/** Proves the wiring: a Kafka round trip and an S3 round trip on the ingest workers. */
export async function healthcheckWorkflow(input: HealthcheckInput): Promise<HealthcheckResult> {
  const { probeKafka, probeS3 } = proxyActivities<IngestActivities>({
    taskQueue: input.ingestTaskQueue,
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  const [kafka, s3] = await Promise.all([probeKafka(input.probeId), probeS3(input.probeId)]);
  return { probeId: input.probeId, kafka, s3 };
}
