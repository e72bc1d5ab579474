/**
 * Each stage's contract: its workflow's input and result types and its signal, query and update definitions.
 * Workflows, activities, workers, scripts and tests all import them from here; workflow code does too, so these
 * modules hold types, pure functions and definitions only: no Node built-ins.
 */
export * from './compact';
export * from './consumer';
export * from './crawl';
export * from './healthcheck';
export * from './pipeline';
export * from './query';
export * from './replay';
