import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/**
 * TickSync's custom search attributes, so the Web UI can list one run's
 * workflows (`TickSyncRunId = "…"`), a topic's, or one stage across runs. The
 * local dev server registers them at start (stack/services.ts); on another
 * Temporal server: `temporal operator search-attribute create --name <key> --type Keyword`.
 * Workflow code imports this file: no Node built-ins.
 */
export const RUN_ID = defineSearchAttributeKey('TickSyncRunId', SearchAttributeType.KEYWORD);
export const TOPIC = defineSearchAttributeKey('TickSyncTopic', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('TickSyncStage', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_KEYS = [RUN_ID, TOPIC, STAGE];

export type Stage = 'pipeline' | 'replay' | 'consume' | 'crawl' | 'query' | 'compact';

/** The search attributes of a workflow of `stage`, for its topic and replay run when it has them. */
export function searchAttributes(stage: Stage, topic?: string, runId?: string): SearchAttributePair[] {
  return [
    { key: STAGE, value: stage },
    ...(topic === undefined ? [] : [{ key: TOPIC, value: topic }]),
    ...(runId === undefined ? [] : [{ key: RUN_ID, value: runId }]),
  ];
}
