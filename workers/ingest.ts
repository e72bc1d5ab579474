import { createIngestActivities } from '../activities';
import { createKafka, createS3Client } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-ingest` worker: Kafka and S3 activities, with the ingest role's credentials.
runWorkerProcess('ingest-worker', (config, logger) => {
  const s3 = createS3Client(config, 'ingest');
  return {
    taskQueue: config.temporal.ingestTaskQueue,
    activities: createIngestActivities({
      kafka: createKafka(config, logger),
      topic: config.kafka.topic,
      groupPrefix: config.kafka.clientId,
      s3,
      bucket: config.s3.bucket,
    }),
    close: async () => s3.destroy(),
  };
});
