// The worker's workflowsPath: every workflow TickSync runs, on either task queue.
export { healthcheckWorkflow } from './healthcheck';
