import { runWorkerProcess } from './run-worker';

// The `ticksync-catalog` worker: runs workflows on its own hosts; the Glue and
// Athena activities (crawler and analyst credentials) register here.
runWorkerProcess('catalog-worker', (config) => ({ taskQueue: config.temporal.catalogTaskQueue, activities: {} }));
