import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { classifyAwsError, classifyKafkaError, ErrorType, nonRetryable } from '../lib/errors';
import { isRetriable, kafkaErrorType, type EachBatchPayload, type KafkaClient } from '../lib/kafka';
import type { TickSyncMetrics } from '../lib/metrics';
import { checkRecords, deadLetterLine, hourPartition, manifestKey, objectKey, segmentLength } from '../lib/lake';
import {
  type ConsumerTotals,
  emptyTotals,
  type MemberCommand,
  type MemberInput,
  type MemberReport,
  memberReportUpdate,
  type PartitionStatus,
} from '../lib/contracts';

const gzipAsync = promisify(zlib.gzip);
/**
 * Compresses in zlib's thread pool. Large output chunks: each chunk is a round trip through the event loop,
 * which a busy intake delays, so zlib's 16 KiB default made a segment wait seconds for its compression.
 */
const gzip = (body: Buffer) => gzipAsync(body, { chunkSize: Math.min(1 << 20, Math.max(64 << 10, body.length)) });

export interface ConsumeActivityDeps {
  kafka: KafkaClient;
  /** Writes raw/, dlq/ and the segment manifests, with the ingest role's credentials. */
  s3: S3Client;
  bucket: string;
  rawPrefix: string;
  dlqPrefix: string;
  manifestPrefix: string;
  /** Members report to their workflow through it. */
  temporal: Client;
  metrics: TickSyncMetrics;
}

/** How long a stopping member keeps trying to write what it holds before leaving it to the next owner. */
const SHUTDOWN_FLUSH_MS = 15_000;
/**
 * The most a fetch takes from one partition. Records larger than this still arrive whole (the broker returns at
 * least one batch).
 */
export const FETCH_BYTES_PER_PARTITION = 4 << 20;
/** A report the workflow does not answer in this time is sent again with the next one. */
const REPORT_TIMEOUT_MS = 5_000;

interface BufferedRecord {
  offset: number;
  /** A valid record (raw/) or a dead letter (dlq/). */
  valid: boolean;
  /**
   * Its JSON Lines line, `chunk[start, start + length)`: the valid records of one batch share a chunk (lib/lake.ts
   * checkRecords), a dead letter has its own.
   */
  chunk: Buffer;
  start: number;
  length: number;
  hour: string;
  bytes: number;
  /** When it was fetched (ms). */
  arrived: number;
}

/** A segment: the records of one partition from a chain position to an end offset, and the objects that hold them. */
interface Manifest {
  topic: string;
  partition: number;
  /** The chain position this segment starts at; the next one starts at end + 1. */
  start: number;
  /** The offset of the segment's last record. */
  end: number;
  records: number;
  deadLetters: number;
  objects: { key: string; records: number; firstOffset: number; lastOffset: number }[];
}

interface PartitionState {
  partition: number;
  /** The chain position: where the next segment starts. Everything before it is in S3. */
  next: number;
  /** The last offset buffered (next - 1 when nothing is). */
  last: number;
  records: BufferedRecord[];
  bytes: number;
  /** A segment another writer claimed that reaches past what we have read: we read on to its end. */
  adopted?: Manifest;
  committed: number;
  /** Where the partition ends. */
  highWatermark: number;
  lastFlushAt?: number;
}

const isPreconditionFailed = (error: unknown) =>
  (error as { name?: string }).name === 'PreconditionFailed' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;

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
function segmentObjects(
  deps: Pick<ConsumeActivityDeps, 'rawPrefix' | 'dlqPrefix'>,
  topic: string,
  partition: number,
  records: BufferedRecord[],
) {
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
      key: objectKey(first.valid ? deps.rawPrefix : deps.dlqPrefix, topic, first.hour, partition, String(first.offset)),
      valid: first.valid,
      records: list,
      firstOffset: first.offset,
      lastOffset: last.offset,
    };
  });
}

export function createConsumeActivities(deps: ConsumeActivityDeps) {
  const { kafka, s3, bucket, manifestPrefix, temporal, metrics } = deps;
  /** Groups with a member in this process: one per process, so members spread over workers. */
  const groupsHere = new Set<string>();

  /**
   * One consumer-group member: reads the topic (read committed), writes
   * segments to S3 and commits offsets after them, until cancelled. Then it
   * writes what it holds, commits and leaves the group.
   */
  async function consumeAndFlush({ workflowId, member, consumer: input }: MemberInput): Promise<void> {
    const context = Context.current();
    const { topic, groupId, flush } = input;
    if (groupsHere.has(groupId)) {
      // Retried soon (another worker's poller may take it), not after the policy's growing backoff.
      throw ApplicationFailure.create({
        message: `this worker already runs a member of group ${groupId}; member ${member} waits for another worker`,
        type: 'MemberWaiting',
        nextRetryDelay: '2 seconds',
      });
    }
    groupsHere.add(groupId);
    const log = context.log;
    const admin = kafka.admin();
    const consumer = kafka.consumer({
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      heartbeatIntervalMs: 1_000,
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    });

    let states = new Map<number, PartitionState>();
    /** Where fetching stands per partition since the last join, past any transaction markers. */
    const positions = new Map<number, number>();
    let loading: Promise<void> | undefined;
    let assigned: number[] = [];
    let fatal: unknown;
    let stopping = false;
    let abandonAt = Infinity;
    let delta = emptyTotals();
    let lastError: string | undefined;
    let command: MemberCommand = { paused: false, flushRequests: 0 };
    let flushRequestsSeen: number | undefined;
    let conditionalWrites = true;
    let running = false;
    let flushWanted = false;
    let lastReportAt = 0;
    const commits = new Set<Promise<void>>();

    // A partition's writes run one after another (across joins too: keyed by partition number); partitions
    // write side by side. Intake only appends to the buffers, and a write removes exactly the records it wrote
    // (by offset), so intake need not wait for it.
    const writing = new Map<number, Promise<void>>();

    /** Waits for a promise, heartbeating to Kafka (inside eachBatch) so the member keeps its partitions. */
    async function keepingAlive<T>(promise: Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
      const timer = setInterval(() => void heartbeat?.().catch(() => undefined), 1_000);
      try {
        return await promise;
      } finally {
        clearInterval(timer);
      }
    }

    /** Runs an S3 call until it succeeds; transient failures (the server down, say) are retried with backoff. */
    async function withS3Retries<T>(operation: string, call: () => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await call();
          lastError = undefined;
          return result;
        } catch (error) {
          if (isPreconditionFailed(error)) throw error;
          const classified = classifyAwsError(operation, error);
          if (classified instanceof ApplicationFailure && classified.nonRetryable) throw classified;
          if (Date.now() > abandonAt) throw classified;
          lastError = `${operation}: ${classified.message}`;
          if (attempt === 1 || attempt % 10 === 0)
            log.warn('S3 call failed, retrying', { operation, attempt, error: lastError });
          await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(attempt, 6), 10_000)));
        }
      }
    }

    /** A create-only write: false if the key already exists. */
    async function putCreateOnly(key: string, body: Buffer | string, metadata: Record<string, string>) {
      try {
        await withS3Retries('PutObject', () =>
          s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*', Metadata: metadata })),
        );
        return true;
      } catch (error) {
        if (isPreconditionFailed(error)) return false;
        throw error;
      }
    }

    async function readManifest(key: string): Promise<Manifest> {
      const object = await withS3Retries('GetObject', () =>
        s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
      );
      return JSON.parse(
        await (object.Body as { transformToString(): Promise<string> }).transformToString(),
      ) as Manifest;
    }

    /**
     * Writes one segment of a partition: claims it with a create-only manifest
     * (or adopts the segment another writer claimed at the same position), writes
     * its objects create-only, then commits the offset after it. Every writer that
     * reaches a chain position writes the same segment there, so no record lands twice.
     */
    async function writeSegment(state: PartitionState): Promise<boolean> {
      const startedAt = performance.now();
      let manifest = state.adopted;
      if (!manifest) {
        // Without create-only writes, a segment may only end where any writer would end it.
        const length = segmentLength(state.records, flush, !conditionalWrites);
        if (length === 0) return false;
        const records = state.records.slice(0, length);
        const claim: Manifest = {
          topic,
          partition: state.partition,
          start: state.next,
          end: (records[length - 1] as BufferedRecord).offset,
          records: records.filter((record) => record.valid).length,
          deadLetters: records.filter((record) => !record.valid).length,
          objects: segmentObjects(deps, topic, state.partition, records).map(
            ({ key, records: list, firstOffset, lastOffset }) => ({
              key,
              records: list.length,
              firstOffset,
              lastOffset,
            }),
          ),
        };
        const key = manifestKey(manifestPrefix, topic, state.partition, String(state.next));
        if (await putCreateOnly(key, JSON.stringify(claim), {})) manifest = claim;
        else {
          manifest = await readManifest(key);
          log.info('segment already claimed, adopting it', {
            partition: state.partition,
            start: state.next,
            end: manifest.end,
          });
        }
      }
      const end = manifest.end;
      const first = Math.min(...manifest.objects.map((object) => object.firstOffset));
      if ((state.records[0]?.offset ?? Infinity) > first) {
        // We started reading past the segment's first record: the client resumed from a commit newer than the
        // position we loaded, and commits only follow whole segments, so this one is in S3 already.
        skipSegment(state, end);
        return true;
      }
      if (state.last < end) {
        // Claimed by another writer further than we have read: read on to its end.
        state.adopted = manifest;
        return false;
      }
      let length = state.records.findIndex((record) => record.offset > end);
      if (length === -1) length = state.records.length;
      const records = state.records.slice(0, length);
      const objects = segmentObjects(deps, topic, state.partition, records);
      const expected = manifest.objects.map((object) => object.key).join(',');
      if (objects.map((object) => object.key).join(',') !== expected) {
        throw nonRetryable(
          ErrorType.DataMismatch,
          `partition ${state.partition} offsets ${manifest.start}-${manifest.end}: the records read make objects ${objects.map((o) => o.key).join(',') || '(none)'}, the segment manifest lists ${expected || '(none)'}`,
        );
      }
      const written = await Promise.all(
        objects.map(async (object) => {
          const text = jsonLines(object.records);
          const bytes = text.length; // the text itself is not kept through retries
          const created = await putCreateOnly(object.key, await gzip(text), {
            'start-offset': String(object.firstOffset),
            'end-offset': String(object.lastOffset),
            records: String(object.records.length),
          });
          return { created, bytes, object };
        }),
      );
      commit(state, end + 1);
      const labels = { topic, partition: state.partition };
      for (const { created, bytes, object } of written) {
        if (!created) continue; // another writer's copy of the same object
        delta.objects += 1;
        delta.bytes += bytes;
        metrics.objectsWritten.add(1, { topic });
        metrics.bytesWritten.add(bytes, { topic });
        if (object.valid) {
          delta.records += object.records.length;
          metrics.recordsWritten.add(object.records.length, labels);
        } else {
          delta.deadLetters += object.records.length;
          metrics.deadLetters.add(object.records.length, labels);
        }
      }
      delta.segments += 1;
      metrics.segmentsCommitted.add(1, labels);
      metrics.flushDuration.record((performance.now() - startedAt) / 1000, { topic });
      skipSegment(state, end);
      state.lastFlushAt = Date.now();
      return true;
    }

    /** Moves a partition's chain position past a segment that is in S3, dropping its records. */
    function skipSegment(state: PartitionState, end: number) {
      let length = 0;
      for (const record of state.records) {
        if (record.offset > end) break;
        state.bytes -= record.bytes;
        length += 1;
      }
      state.records = state.records.slice(length);
      state.last = Math.max(state.last, end);
      state.next = end + 1;
      state.adopted = undefined;
    }

    /**
     * Commits in the background: a commit only says where to start reading, so a
     * slow one (during a rebalance, say) must not hold up writing or the rejoin.
     */
    function commit(state: PartitionState, offset: number) {
      const { partition } = state;
      const pending = consumer
        .commitOffsets([{ topic, partition, offset: String(offset) }])
        .then(() => void (state.committed = Math.max(state.committed, offset)))
        .catch((error: unknown) => {
          // Not fatal: the segment is in S3 with its manifest; whoever reads it again adopts it.
          log.warn('offset commit failed', { partition, offset, error: (error as Error).message });
        })
        .finally(() => commits.delete(pending));
      commits.add(pending);
    }

    /** Whether a partition has a segment to write now (with `upTo`: one holding a record up to that offset). */
    function isDue(state: PartitionState, upTo?: number): boolean {
      const oldest = state.records[0];
      if (oldest === undefined) return false;
      return (
        (upTo !== undefined && oldest.offset <= upTo) ||
        state.adopted !== undefined ||
        state.records.length >= flush.maxRecords ||
        state.bytes >= flush.maxBytes ||
        Date.now() - oldest.arrived >= flush.maxAgeMs
      );
    }

    /**
     * Writes a partition's segments while they are due, after its earlier writes; with `whole`, also everything
     * it holds now (not what arrives meanwhile, so a flush ends under steady traffic). A writer whose partition
     * was reassigned stops after its segment: the new owner reads on from the last commit.
     */
    function writeDue(state: PartitionState, whole: boolean): Promise<void> {
      const { partition } = state;
      const upTo = whole ? state.last : undefined;
      let wrote = false;
      const run = async () => {
        while (states.get(partition) === state && isDue(state, upTo)) {
          if (!(await writeSegment(state))) return;
          wrote = true;
        }
      };
      const written = (writing.get(partition) ?? Promise.resolve()).then(run);
      const settled = written
        .catch(() => undefined)
        .finally(() => {
          if (writing.get(partition) !== settled) return;
          writing.delete(partition);
          // Everything read is written: report now rather than at the next interval (at most twice per interval).
          const drained = writing.size === 0 && [...states.values()].every((other) => other.records.length === 0);
          if (wrote && drained && Date.now() - lastReportAt >= input.reportSeconds * 500) reportNow();
        });
      writing.set(partition, settled);
      return written;
    }

    /** Writes every partition's due segments (all that each holds, when `whole`); fails with the first failure. */
    async function flushDue(whole: boolean) {
      const results = await Promise.allSettled([...states.values()].map((state) => writeDue(state, whole)));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    }

    /** Where each assigned partition's chain stands: the group's committed offset, or the log start. */
    async function loadStates(partitions: number[]) {
      const committed = await admin.fetchGroupOffsets(groupId, topic);
      const ends = await admin.fetchTopicOffsets(topic);
      const fresh = new Map<number, PartitionState>();
      for (const partition of partitions) {
        const offsets = ends.find((entry) => entry.partition === partition);
        const group = committed.find((entry) => entry.partition === partition);
        const next = group && Number(group.offset) >= 0 ? Number(group.offset) : Number(offsets?.low ?? 0);
        fresh.set(partition, {
          partition,
          next,
          last: next - 1,
          records: [],
          bytes: 0,
          committed: next,
          highWatermark: Number(offsets?.high ?? next),
        });
      }
      states = fresh;
    }

    /** Loads the states, waiting out what a broker says while it starts (coordinator loading, say). */
    async function loadStatesPatiently(partitions: number[]) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await loadStates(partitions);
        } catch (error) {
          if (!isRetriable(error) || attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }

    function ensureLoaded(): Promise<void> {
      loading ??= loadStatesPatiently(assigned).catch((error: unknown) => {
        loading = undefined;
        throw classifyKafkaError('FetchOffsets', error);
      });
      return loading;
    }

    function take(state: PartitionState, payload: EachBatchPayload) {
      const { batch } = payload;
      const arrived = Date.now();
      // Past what is already in S3 (below the chain position) or already buffered: a batch is in offset order.
      const first = batch.messages.findIndex((message) => Number(message.offset) > state.last);
      const messages = first === -1 ? [] : batch.messages.slice(first);
      const checked = checkRecords(
        messages.map((message) => message.value),
        input.maxRecordBytes,
      );
      messages.forEach((message, index) => {
        const offset = Number(message.offset);
        const bytes = message.value?.length ?? 0;
        const reason = checked.reasons.get(index);
        let record: BufferedRecord;
        if (reason === undefined) {
          const start = checked.starts[index] as number;
          const length = checked.lengths[index] as number;
          const hour = hourPartition(checked.eventTimes[index] as number);
          record = { offset, valid: true, chunk: checked.chunk, start, length, hour, bytes, arrived };
        } else {
          log.warn('dead letter', { partition: batch.partition, offset, reason });
          const line = Buffer.from(
            deadLetterLine(
              topic,
              batch.partition,
              message.offset,
              message.timestamp,
              message.key,
              message.value,
              reason,
            ),
          );
          const hour = hourPartition(Number(message.timestamp));
          record = { offset, valid: false, chunk: line, start: 0, length: line.length, hour, bytes, arrived };
        }
        state.records.push(record);
        state.bytes += bytes;
        state.last = offset;
      });
      state.highWatermark = Number(batch.highWatermark);
    }

    const bufferedBytes = () => [...states.values()].reduce((sum, state) => sum + state.bytes, 0);

    /**
     * Takes a batch into the buffers. Writing happens beside it (the 250 ms flush timer), so fetching goes on
     * while segments are compressed and uploaded; only when too much is unwritten (S3 slow or down) does
     * intake wait for the writes, heartbeating to Kafka meanwhile.
     */
    async function eachBatch(payload: EachBatchPayload) {
      const { batch, heartbeat, resolveOffset, isStale, isRunning } = payload;
      try {
        if (fatal !== undefined || stopping) return;
        await keepingAlive(ensureLoaded(), heartbeat);
        if (isStale() || !isRunning()) return;
        const state = states.get(batch.partition);
        if (!state) return; // not ours since the last join
        take(state, payload);
        resolveOffset(batch.lastOffset);
        while (bufferedBytes() > input.maxBufferedBytes && fatal === undefined && !stopping) {
          const before = bufferedBytes();
          await keepingAlive(flushDue(true), heartbeat);
          // Nothing could be written yet (only whole segments may be): wait for more to read rather than spin.
          if (bufferedBytes() >= before) break;
        }
      } catch (error) {
        // Ends the member (see the main loop); the client must not retry the batch on its own.
        fatal ??= error;
      }
    }

    function partitionStatuses(): PartitionStatus[] {
      const reportedAt = new Date().toISOString();
      return [...states.values()].map((state) => ({
        partition: state.partition,
        committed: state.committed,
        highWatermark: state.highWatermark,
        // Records not yet in S3: not fetched, or fetched and buffered.
        lag:
          Math.max(0, state.highWatermark - Math.max(state.next, positions.get(state.partition) ?? 0)) +
          state.records.length,
        buffered: state.records.length,
        lastFlushAt: state.lastFlushAt ? new Date(state.lastFlushAt).toISOString() : undefined,
        member,
        reportedAt,
      }));
    }

    /** Reports to the workflow and applies what it asks (pause, flush now). */
    async function report() {
      // Partition ends from the broker: lag stays true while fetching is paused or idle.
      try {
        for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
          const state = states.get(partition);
          if (state) state.highWatermark = Math.max(state.highWatermark, Number(high));
        }
      } catch (error) {
        log.debug('could not read partition ends', { error: (error as Error).message });
      }
      lastReportAt = Date.now();
      const sent = delta;
      delta = emptyTotals();
      const partitions = partitionStatuses();
      for (const status of partitions) {
        const labels = { topic, partition: status.partition };
        metrics.consumerLag.set(status.lag, labels);
        metrics.bufferedRecords.set(status.buffered, labels);
        if (status.lastFlushAt) metrics.lastFlushTimestamp.set(Date.parse(status.lastFlushAt) / 1000, labels);
      }
      const body: MemberReport = {
        member,
        partitions,
        delta: sent,
        lastError,
      };
      try {
        // Bounded: a worker that is shutting down no longer runs the workflow task that answers.
        command = await temporal.withDeadline(Date.now() + REPORT_TIMEOUT_MS, () =>
          temporal.workflow.getHandle(workflowId).executeUpdate(memberReportUpdate, { args: [body] }),
        );
      } catch (error) {
        // Counted again with the next report; the workflow may be between runs.
        for (const field of Object.keys(sent) as (keyof ConsumerTotals)[]) delta[field] += sent[field];
        log.debug('report not delivered', { error: (error as Error).message });
        return;
      }
      if (command.paused) consumer.pause(topic);
      else consumer.resume(topic);
      const flushNow = flushRequestsSeen !== undefined && command.flushRequests > flushRequestsSeen;
      flushRequestsSeen = command.flushRequests;
      if (flushNow || command.paused) flushWanted = true;
    }

    /** Whether this S3 server refuses to overwrite on `If-None-Match: *`. */
    async function probeConditionalWrites() {
      const key = `${manifestPrefix}${topic}/conditional-write-probe`;
      await putCreateOnly(key, 'probe', {});
      return !(await putCreateOnly(key, 'probe', {}));
    }

    const heartbeatTimer = setInterval(() => context.heartbeat({ member, partitions: partitionStatuses() }), 1_000);
    const timers: NodeJS.Timeout[] = [];
    /** Runs `task` every `ms`, never two at once; its failure ends the member. Returns a run-it-now. */
    const every = (ms: number, task: () => Promise<void>) => {
      let busy = false;
      const tick = () => {
        if (busy || stopping) return;
        busy = true;
        task()
          .catch((error: unknown) => (fatal ??= error))
          .finally(() => (busy = false));
      };
      timers.push(setInterval(tick, ms));
      return tick;
    };
    let reportNow = () => {};
    try {
      try {
        await admin.connect();
        await admin.topicPartitions([topic]);
      } catch (error) {
        if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
          throw ApplicationFailure.retryable(`topic ${topic} does not exist yet; waiting for it`, 'TopicMissing');
        }
        throw classifyKafkaError('Metadata', error);
      }
      conditionalWrites = await probeConditionalWrites();
      if (!conditionalWrites) {
        log.warn('the S3 server ignores If-None-Match; segments end only at record and byte limits', { bucket });
      }

      consumer.on('assigned', ({ assignment }) => {
        // Fetching restarts from the committed offsets after every join: forget what is unwritten.
        assigned = assignment[topic] ?? [];
        states = new Map();
        positions.clear();
        loading = undefined;
        log.info('joined group', { groupId, member, partitions: assigned });
        // Now rather than at the first batch: idle partitions are reported too.
        ensureLoaded().catch((error: unknown) =>
          log.warn('could not read the group offsets; trying again at the next batch', {
            error: (error as Error).message,
          }),
        );
      });
      // Transaction markers never reach eachBatch, but still move the position.
      consumer.on('position', ({ partition, offset }) => {
        positions.set(partition, Math.max(positions.get(partition) ?? 0, Number(offset)));
      });
      consumer.on('crash', ({ error, restart }) => {
        if (!restart) fatal ??= error;
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ manualResolve: true, eachBatch });
      running = true;

      // Due and requested writes; reports run on their own, so they go on while S3 is down.
      every(250, async () => {
        if (flushWanted) {
          flushWanted = false; // a request arriving during this flush gets its own
          await flushDue(true);
          return;
        }
        // A partition still writing goes on by itself: one slow upload holds up no other partition.
        for (const state of states.values()) {
          if (!writing.has(state.partition) && isDue(state)) {
            writeDue(state, false).catch((error: unknown) => (fatal ??= error));
          }
        }
      });
      reportNow = every(input.reportSeconds * 1000, report);

      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (fatal !== undefined || context.cancellationSignal.aborted) {
            clearInterval(check);
            resolve();
          }
        }, 100);
      });
    } finally {
      stopping = true;
      timers.forEach(clearInterval);
      // Stopping: write what we hold, unless S3 keeps failing for longer than the grace time (after a failure,
      // only finish the writes under way, without retrying).
      abandonAt = fatal === undefined ? Date.now() + SHUTDOWN_FLUSH_MS : Date.now();
      if (fatal === undefined && states.size > 0) {
        await flushDue(true).catch((error: unknown) =>
          log.warn('could not write everything before stopping; the next owner will', {
            error: (error as Error).message,
          }),
        );
      }
      // Writes of partitions a rebalance took away, or that a failure left running.
      // (The timers do not keep a stopping worker alive.)
      await Promise.race([
        Promise.allSettled([...writing.values()]),
        sleep(SHUTDOWN_FLUSH_MS, undefined, { ref: false }),
      ]);
      await Promise.race([Promise.allSettled([...commits]), sleep(5_000, undefined, { ref: false })]);
      if (running) await report().catch(() => undefined);
      await consumer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      clearInterval(heartbeatTimer);
      groupsHere.delete(groupId);
    }
    if (context.cancellationSignal.aborted) {
      throw new CancelledFailure(String(context.cancellationSignal.reason ?? 'cancelled'));
    }
    throw fatal instanceof Error ? classifyKafkaError('Consume', fatal) : new Error(String(fatal));
  }

  return { consumeAndFlush };
}
