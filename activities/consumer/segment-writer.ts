import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ErrorType, nonRetryable } from '../../lib/errors';
import { manifestKey, objectKey, segmentLength } from '../../lib/lake';
import type { FlushPolicy } from '../../lib/contracts';
import type { BufferedRecord, PartitionBuffer } from './buffer';
import type { Manifest } from './manifest';
import type { ObjectStore } from './object-store';

export type { Manifest } from './manifest';

const gzipAsync = promisify(zlib.gzip);
/**
 * Compresses in zlib's thread pool. Large output chunks: each chunk is a round trip through the event loop,
 * which a busy intake delays, so zlib's 16 KiB default made a segment wait seconds for its compression.
 */
const gzip = (body: Buffer) => gzipAsync(body, { chunkSize: Math.min(1 << 20, Math.max(64 << 10, body.length)) });

export interface LakePrefixes {
  raw: string;
  dlq: string;
  manifest: string;
}

/** What one segment write did: per object, whether this writer created it (false: another writer's copy). */
export interface WrittenSegment {
  partition: number;
  objects: { created: boolean; valid: boolean; records: number; bytes: number }[];
  seconds: number;
}

export interface SegmentWriterOptions {
  store: ObjectStore;
  topic: string;
  prefixes: LakePrefixes;
  flush: FlushPolicy;
  /** Whether the store refuses to overwrite (probeConditionalWrites). */
  conditionalWrites: boolean;
  /** Commits `offset` (the segment's end + 1) for the partition; called once the segment is in the store. */
  commit(buffer: PartitionBuffer, offset: number): void;
  /** Told of each segment written and committed. */
  written(segment: WrittenSegment): void;
  log: { info(message: string, fields: Record<string, unknown>): void };
}

/** Records as JSON Lines. */
function jsonLines(records: BufferedRecord[]): Buffer {
  let length = 0;
  for (const record of records) length += record.length + 1;
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const record of records) {
    at += record.chunk.copy(body, at, record.start, record.start + record.length);
    body[at++] = 0x0a;
  }
  return body;
}

/** The objects a segment's records make: one per (raw or dlq, hour), named after its first offset. */
function segmentObjects(prefixes: LakePrefixes, topic: string, partition: number, records: BufferedRecord[]) {
  const groups = new Map<string, BufferedRecord[]>();
  let list: BufferedRecord[] = [];
  let previous: BufferedRecord | undefined;
  for (const record of records) {
    // Runs of records share an hour: look the group up only where the run changes.
    if (record.hour !== previous?.hour || record.valid !== previous.valid) {
      const group = `${record.valid ? 'raw' : 'dlq'}/${record.hour}`;
      list = groups.get(group) ?? [];
      groups.set(group, list);
    }
    list.push(record);
    previous = record;
  }
  return [...groups.values()].map((list) => {
    const first = list[0] as BufferedRecord;
    const last = list[list.length - 1] as BufferedRecord;
    return {
      key: objectKey(first.valid ? prefixes.raw : prefixes.dlq, topic, first.hour, partition, String(first.offset)),
      valid: first.valid,
      records: list,
      firstOffset: first.offset,
      lastOffset: last.offset,
    };
  });
}

/** Whether the store refuses to overwrite on a create-only write (AWS S3 and versitygw do). */
export async function probeConditionalWrites(store: ObjectStore, prefixes: LakePrefixes, topic: string) {
  const key = `${prefixes.manifest}${topic}/conditional-write-probe`;
  await store.putIfAbsent(key, 'probe', {});
  return !(await store.putIfAbsent(key, 'probe', {}));
}

/**
 * Writes a partition's segments exactly once, whoever else writes them: it claims the segment at the buffer's
 * chain position with a create-only manifest (or adopts the segment another writer claimed there), writes its
 * objects create-only, then commits the offset after it. Every writer that reaches a chain position writes the
 * same segment there, so no record lands twice and none is left out.
 */
export class SegmentWriter {
  constructor(private readonly options: SegmentWriterOptions) {}

  /**
   * Writes the segment at the buffer's chain position. False when there is nothing to write yet: the records
   * held make no whole segment (without create-only writes), or another writer's claim reaches past them.
   */
  async write(buffer: PartitionBuffer): Promise<boolean> {
    const { store, topic, prefixes, flush, conditionalWrites, log } = this.options;
    const startedAt = performance.now();
    let manifest = buffer.adopted;
    if (!manifest) {
      // Without create-only writes, a segment may only end where any writer would end it.
      const length = segmentLength(buffer.records, flush, !conditionalWrites);
      if (length === 0) return false;
      const records = buffer.records.slice(0, length);
      const claim: Manifest = {
        topic,
        partition: buffer.partition,
        start: buffer.next,
        end: (records[length - 1] as BufferedRecord).offset,
        records: records.filter((record) => record.valid).length,
        deadLetters: records.filter((record) => !record.valid).length,
        objects: segmentObjects(prefixes, topic, buffer.partition, records).map(
          ({ key, records: list, firstOffset, lastOffset }) => ({ key, records: list.length, firstOffset, lastOffset }),
        ),
      };
      const key = manifestKey(prefixes.manifest, topic, buffer.partition, String(buffer.next));
      if (await store.putIfAbsent(key, JSON.stringify(claim), {})) manifest = claim;
      else {
        manifest = JSON.parse((await store.get(key)).toString('utf8')) as Manifest;
        log.info('segment already claimed, adopting it', {
          partition: buffer.partition,
          start: buffer.next,
          end: manifest.end,
        });
      }
    }
    const end = manifest.end;
    const first = Math.min(...manifest.objects.map((object) => object.firstOffset));
    if ((buffer.records[0]?.offset ?? Infinity) > first) {
      // We started reading past the segment's first record: the client resumed from a commit newer than the
      // position we loaded, and commits only follow whole segments, so this one is in S3 already.
      buffer.skipThrough(end);
      return true;
    }
    if (buffer.last < end) {
      // Claimed by another writer further than we have read: read on to its end.
      buffer.adopted = manifest;
      return false;
    }
    const objects = segmentObjects(prefixes, topic, buffer.partition, buffer.through(end));
    const expected = manifest.objects.map((object) => object.key).join(',');
    if (objects.map((object) => object.key).join(',') !== expected) {
      throw nonRetryable(
        ErrorType.DataMismatch,
        `partition ${buffer.partition} offsets ${manifest.start}-${manifest.end}: the records read make objects ${objects.map((o) => o.key).join(',') || '(none)'}, the segment manifest lists ${expected || '(none)'}`,
      );
    }
    const written = await Promise.all(
      objects.map(async (object) => {
        const text = jsonLines(object.records);
        const bytes = text.length; // the text itself is not kept through retries
        const created = await store.putIfAbsent(object.key, await gzip(text), {
          'start-offset': String(object.firstOffset),
          'end-offset': String(object.lastOffset),
          records: String(object.records.length),
        });
        return { created, valid: object.valid, records: object.records.length, bytes };
      }),
    );
    this.options.commit(buffer, end + 1);
    this.options.written({
      partition: buffer.partition,
      objects: written,
      seconds: (performance.now() - startedAt) / 1000,
    });
    buffer.skipThrough(end);
    buffer.lastFlushAt = Date.now();
    return true;
  }
}
