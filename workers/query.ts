import { createQueryActivities } from '../activities';
import { createAthenaClient } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-query` worker: runs workflows on its own hosts; the Athena
// activities run here with the analyst role's credentials.
runWorkerProcess('query', (config, logger, metrics) => {
  const athena = createAthenaClient(config, 'analyst');
  return {
    activities: createQueryActivities({ athena, logger, metrics }),
    close: async () => athena.destroy(),
  };
});
