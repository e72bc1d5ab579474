import { createCatalogActivities } from '../activities';
import { createGlueClient } from '../lib/clients';
import { runWorkerProcess } from './run-worker';

// The `ticksync-catalog` worker: runs workflows on its own hosts; the Glue
// activities run here with the crawler role's credentials.
runWorkerProcess('catalog', (config, logger, metrics) => {
  const glue = createGlueClient(config, 'crawler');
  return {
    activities: createCatalogActivities({ glue, config, logger, metrics }),
    close: async () => glue.destroy(),
  };
});
