import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';

/** Where the recorded workflow histories live (test/histories/record.record.ts writes them). */
export const HISTORIES_DIR = path.join(__dirname, '../fixtures/histories');

/** Each history's workflowId by name (workflows derive child ids from their own): `<name>.json` beside it. */
export const WORKFLOW_IDS_FILE = path.join(HISTORIES_DIR, 'workflow-ids.json');

export interface RecordedHistory {
  /** The file's name without `.json`. */
  name: string;
  /** The workflowId it ran under (from workflow-ids.json; the name when that file does not list it). */
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
}

/** Every recorded history, by file name. */
export function recordedHistories(): RecordedHistory[] {
  const ids = workflowIds();
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json') && path.join(HISTORIES_DIR, file) !== WORKFLOW_IDS_FILE)
    .sort()
    .map((file) => file.slice(0, -'.json'.length))
    .map((name) => ({
      name,
      workflowId: ids[name] ?? name,
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8'))),
    }));
}

export function workflowIds(): Record<string, string> {
  return fs.existsSync(WORKFLOW_IDS_FILE)
    ? (JSON.parse(fs.readFileSync(WORKFLOW_IDS_FILE, 'utf8')) as Record<string, string>)
    : {};
}
