// The workers' workflowsPath: every workflow TickSync runs, on either task queue.
export { healthcheckWorkflow } from './healthcheck';
export { replayWorkflow } from './replay';
export { consumerWorkflow } from './consumer';
export { crawlWorkflow } from './crawl';
export { queryWorkflow } from './query';
export { pipelineWorkflow } from './pipeline';
export { compactWorkflow } from './compact';
