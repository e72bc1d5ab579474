import { createCompactQueueActivities } from '../activities';
import { createGlueClient, createS3Client } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-compact` worker: compacts closed hours of raw/ into Parquet under curated/ and publishes them
// in the catalog, with the compactor's credentials; runs workflows too, like every worker.
runWorkerProcess('compact', (config, logger) => {
  const s3 = createS3Client(config, 'compactor');
  const glue = createGlueClient(config, 'compactor');
  return {
    activities: createCompactQueueActivities({ s3, glue, config, logger }),
    close: async () => {
      s3.destroy();
      glue.destroy();
    },
  };
});
