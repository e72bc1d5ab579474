import { createQueryActivities } from '../activities';
import { createAthenaClient, createGlueClient } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-query` worker: runs workflows on its own hosts; the Athena
// activities, and the catalog reads of the named queries, run here with the
// analyst role's credentials.
runWorkerProcess('query', (config, logger, metrics) => {
  const athena = createAthenaClient(config, 'analyst');
  const glue = createGlueClient(config, 'analyst');
  return {
    activities: createQueryActivities({ athena, glue, logger, metrics }),
    close: async () => {
      athena.destroy();
      glue.destroy();
    },
  };
});
