import { createQueryActivities } from '../activities';
import { createAthenaClient } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-query` worker: runs workflows on its own hosts; the Athena
// activities run here with the analyst role's credentials.
runWorkerProcess('query-worker', (config, logger) => {
  const athena = createAthenaClient(config, 'analyst');
  return {
    taskQueue: config.temporal.queryTaskQueue,
    activities: createQueryActivities({ athena, logger }),
    close: async () => athena.destroy(),
  };
});
