import { createIngestActivities } from '../activities';
import { createS3Client } from '../lib/clients';
import { createKafka } from '../lib/kafka';
import { connectClient } from '../lib/temporal';
import { runWorkerProcess } from './run-worker';

// The `ticksync-ingest` worker: Kafka and S3 activities. Replays read their input
// with the producer's credentials, flushes write with the ingest role's.
runWorkerProcess('ingest', async (config, logger, metrics) => {
  const s3 = createS3Client(config, 'ingest');
  const inputS3 = createS3Client(config, 'producer');
  // Consumer-group members report progress to their workflow through a client.
  const temporal = await connectClient(config);
  return {
    activities: createIngestActivities({
      kafka: createKafka(config, logger),
      topic: config.kafka.topic,
      groupPrefix: config.kafka.clientId,
      s3,
      bucket: config.s3.bucket,
      inputS3,
      inputPrefix: config.s3.inputPrefix,
      rawPrefix: config.s3.rawPrefix,
      dlqPrefix: config.s3.dlqPrefix,
      manifestPrefix: config.s3.manifestPrefix,
      temporal,
      metrics,
    }),
    close: async () => {
      await temporal.connection.close();
      s3.destroy();
      inputS3.destroy();
    },
  };
});
