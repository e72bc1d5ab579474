import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import {
  CONSUMER_DEFAULTS,
  type ConsumerInput,
  type ConsumerProgress,
  consumerProgressQuery,
  MIB,
} from '../../lib/contracts';
import type { consumerWorkflow } from '../../workflows';

export interface LakeObject {
  key: string;
  metadata: Record<string, string>;
  lines: Record<string, unknown>[];
}

/** Every object under a prefix, gunzipped and parsed line by line (a malformed object fails the test). */
export async function readLake(s3: S3Client, bucket: string, prefix: string): Promise<LakeObject[]> {
  const objects: LakeObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const { Key } of page.Contents ?? []) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const text = gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      objects.push({
        key: Key as string,
        metadata: object.Metadata ?? {},
        lines: text
          .slice(0, -1)
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      });
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/** Counts each (run_id, seq) across all objects: exactly once means every count is 1. */
export function countRecords(objects: LakeObject[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const object of objects) {
    for (const line of object.lines) {
      const id = `${String(line.run_id)}:${String(line.seq)}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Asserts the raw objects hold seq 1..rows of the run, each once. */
export function expectExactlyOnce(objects: LakeObject[], runId: string, rows: number): void {
  const counts = countRecords(objects);
  const duplicates = [...counts].filter(([, count]) => count > 1);
  expect(duplicates.slice(0, 5)).toEqual([]);
  const missing: number[] = [];
  for (let seq = 1; seq <= rows; seq++) if (!counts.has(`${runId}:${seq}`)) missing.push(seq);
  expect(missing.slice(0, 5)).toEqual([]);
  expect(counts.size).toBe(rows);
}

/** A consumer input with the script's defaults, and quick flushes and reports. */
export function consumerInputFor(topic: string, overrides: Partial<ConsumerInput> = {}): ConsumerInput {
  return {
    topic,
    groupId: `${topic}.lake`,
    ...CONSUMER_DEFAULTS,
    flush: { maxRecords: 2000, maxBytes: 8 * MIB, maxAgeMs: 1000 },
    maxBufferedBytes: 32 * MIB,
    reportSeconds: 1,
    ...overrides,
  };
}

/** Polls the progress query until `done` holds (or fails the test at the deadline). */
export async function waitForProgress(
  handle: WorkflowHandle<typeof consumerWorkflow>,
  done: (progress: ConsumerProgress) => boolean,
  timeoutMs = 120_000,
): Promise<ConsumerProgress> {
  const deadline = Date.now() + timeoutMs;
  let progress: ConsumerProgress | undefined;
  for (;;) {
    progress = await handle.query(consumerProgressQuery).catch(() => progress);
    if (progress && done(progress)) return progress;
    if (Date.now() > deadline) throw new Error(`consumer progress never matched: ${JSON.stringify(progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
