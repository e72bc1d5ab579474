import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { classifyKafkaError } from '../lib/errors';
import type { EachBatchPayload, KafkaClient } from '../lib/kafka';
import type { TickSyncMetrics } from '../lib/metrics';
import type { MemberInput } from '../lib/contracts';
import { appendBatch } from './consumer/buffer';
import { GroupMember } from './consumer/group-member';
import { S3ObjectStore } from './consumer/object-store';
import { Reporter } from './consumer/reporter';
import { probeConditionalWrites, SegmentWriter, type LakePrefixes } from './consumer/segment-writer';
import { WriteQueue } from './consumer/write-queue';

export { FETCH_BYTES_PER_PARTITION } from './consumer/group-member';

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

export function createConsumeActivities(deps: ConsumeActivityDeps) {
  const { kafka, s3, bucket, temporal, metrics } = deps;
  const prefixes: LakePrefixes = { raw: deps.rawPrefix, dlq: deps.dlqPrefix, manifest: deps.manifestPrefix };
  /** Groups with a member in this process: one per process, so members spread over workers. */
  const groupsHere = new Set<string>();

  /**
   * One consumer-group member: reads the topic (read committed), writes segments to S3 and commits offsets
   * after them, until cancelled. Then it writes what it holds, commits and leaves the group. It composes the
   * parts under activities/consumer/: the group member (Kafka), the partition buffers, the segment writer (on
   * S3 through the object store) and its write queue, and the reporter.
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

    let fatal: unknown;
    let stopping = false;
    let abandonAt = Infinity;
    let flushRequestsSeen: number | undefined;
    let running = false;
    let flushWanted = false;

    const group = new GroupMember(kafka, topic, groupId, log);
    const reporter = new Reporter({ temporal, workflowId, member, topic, metrics, debug: (m, f) => log.debug(m, f) });
    const store = new S3ObjectStore(s3, bucket, {
      abandonAt: () => abandonAt,
      onError: (message) => (reporter.lastError = message),
      warn: (message, fields) => log.warn(message, fields),
    });
    let writes: WriteQueue | undefined;

    /** Waits for a promise, heartbeating to Kafka (inside eachBatch) so the member keeps its partitions. */
    async function keepingAlive<T>(promise: Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
      const timer = setInterval(() => void heartbeat?.().catch(() => undefined), 1_000);
      try {
        return await promise;
      } finally {
        clearInterval(timer);
      }
    }

    const bufferedBytes = () => [...group.buffers.values()].reduce((sum, buffer) => sum + buffer.bytes, 0);
    const flushAll = (whole: boolean) => (writes as WriteQueue).flushAll(group.buffers.values(), whole);

    /**
     * Takes a batch into the buffers. Writing happens beside it (the 250 ms flush timer), so fetching goes on
     * while segments are compressed and uploaded; only when too much is unwritten (S3 slow or down) does
     * intake wait for the writes, heartbeating to Kafka meanwhile.
     */
    async function eachBatch(payload: EachBatchPayload) {
      const { batch, heartbeat, resolveOffset, isStale, isRunning } = payload;
      try {
        if (fatal !== undefined || stopping) return;
        await keepingAlive(group.ensureLoaded(), heartbeat);
        if (isStale() || !isRunning()) return;
        const buffer = group.buffers.get(batch.partition);
        if (!buffer) return; // not ours since the last join
        appendBatch(buffer, batch, { topic, maxRecordBytes: input.maxRecordBytes, now: Date.now() }, (offset, reason) =>
          log.warn('dead letter', { partition: batch.partition, offset, reason }),
        );
        resolveOffset(batch.lastOffset);
        while (bufferedBytes() > input.maxBufferedBytes && fatal === undefined && !stopping) {
          const before = bufferedBytes();
          await keepingAlive(flushAll(true), heartbeat);
          // Nothing could be written yet (only whole segments may be): wait for more to read rather than spin.
          if (bufferedBytes() >= before) break;
        }
      } catch (error) {
        // Ends the member (see the main loop); the client must not retry the batch on its own.
        fatal ??= error;
      }
    }

    const statuses = () => reporter.statuses(group.buffers.values(), group.positions);

    /** Reports to the workflow and applies what it asks (pause, flush now). */
    async function report() {
      try {
        await group.refreshEnds();
      } catch (error) {
        log.debug('could not read partition ends', { error: (error as Error).message });
      }
      const command = await reporter.report(statuses());
      if (!command) return;
      group.pause(command.paused);
      const flushNow = flushRequestsSeen !== undefined && command.flushRequests > flushRequestsSeen;
      flushRequestsSeen = command.flushRequests;
      if (flushNow || command.paused) flushWanted = true;
    }

    const heartbeatTimer = setInterval(() => context.heartbeat({ member, partitions: statuses() }), 1_000);
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
      await group.connectAdmin();
      const conditionalWrites = await probeConditionalWrites(store, prefixes, topic);
      if (!conditionalWrites) {
        log.warn('the S3 server ignores If-None-Match; segments end only at record and byte limits', { bucket });
      }
      const writer = new SegmentWriter({
        store,
        topic,
        prefixes,
        flush,
        conditionalWrites,
        commit: (buffer, offset) => group.commit(buffer, offset),
        written: (segment) => reporter.written(segment),
        log,
      });
      writes = new WriteQueue(
        writer,
        flush,
        (buffer) => group.buffers.get(buffer.partition) === buffer,
        (wrote) => {
          // Everything read is written: report now rather than at the next interval (at most twice per interval).
          const drained = [...group.buffers.values()].every((buffer) => buffer.records.length === 0);
          if (wrote && drained && Date.now() - reporter.lastReportAt >= input.reportSeconds * 500) reportNow();
        },
      );
      const queue = writes;

      await group.run({ member }, eachBatch, (error) => (fatal ??= error));
      running = true;

      // Due and requested writes; reports run on their own, so they go on while S3 is down.
      every(250, async () => {
        if (flushWanted) {
          flushWanted = false; // a request arriving during this flush gets its own
          await flushAll(true);
          return;
        }
        // A partition still writing goes on by itself: one slow upload holds up no other partition.
        for (const buffer of group.buffers.values()) {
          if (!queue.isWriting(buffer.partition) && buffer.isDue(flush, Date.now())) {
            queue.writeDue(buffer, false).catch((error: unknown) => (fatal ??= error));
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
      if (writes) {
        if (fatal === undefined && group.buffers.size > 0) {
          await flushAll(true).catch((error: unknown) =>
            log.warn('could not write everything before stopping; the next owner will', {
              error: (error as Error).message,
            }),
          );
        }
        // Writes of partitions a rebalance took away, or that a failure left running.
        // (The timers do not keep a stopping worker alive.)
        await Promise.race([writes.settled(), sleep(SHUTDOWN_FLUSH_MS, undefined, { ref: false })]);
      }
      await group.settleCommits(5_000);
      if (running) await report().catch(() => undefined);
      await group.disconnect();
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
