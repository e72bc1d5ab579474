import type { Client } from '@temporalio/client';
import type { TickSyncMetrics } from '../../lib/metrics';
import {
  type ConsumerTotals,
  emptyTotals,
  type MemberCommand,
  type MemberReport,
  memberReportUpdate,
  type PartitionStatus,
} from '../../lib/contracts';
import type { PartitionBuffer } from './buffer';
import type { WrittenSegment } from './segment-writer';

/** A report the workflow does not answer in this time is sent again with the next one. */
const REPORT_TIMEOUT_MS = 5_000;

/**
 * The member's progress: counts what is written (and the metrics), describes its partitions (the activity's
 * heartbeat details and the workflow's reports), and sends the workflow its reports. Counts whose report was
 * not delivered go with the next one, so the workflow's totals count each segment once.
 */
export class Reporter {
  /** The last transient failure (an S3 call being retried), reported until a call succeeds. */
  lastError: string | undefined;
  lastReportAt = 0;
  private delta = emptyTotals();

  constructor(
    private readonly options: {
      temporal: Client;
      workflowId: string;
      member: number;
      topic: string;
      metrics: TickSyncMetrics;
      debug(message: string, fields: Record<string, unknown>): void;
    },
  ) {}

  /** Counts a written segment: only the objects this writer created (the others are another writer's copies). */
  written({ partition, objects, seconds }: WrittenSegment): void {
    const { topic, metrics } = this.options;
    const labels = { topic, partition };
    for (const object of objects) {
      if (!object.created) continue;
      this.delta.objects += 1;
      this.delta.bytes += object.bytes;
      metrics.objectsWritten.add(1, { topic });
      metrics.bytesWritten.add(object.bytes, { topic });
      if (object.valid) {
        this.delta.records += object.records;
        metrics.recordsWritten.add(object.records, labels);
      } else {
        this.delta.deadLetters += object.records;
        metrics.deadLetters.add(object.records, labels);
      }
    }
    this.delta.segments += 1;
    metrics.segmentsCommitted.add(1, labels);
    metrics.flushDuration.record(seconds, { topic });
  }

  /** The partitions' statuses. Lag counts the records not yet in S3: not fetched, or fetched and buffered. */
  statuses(buffers: Iterable<PartitionBuffer>, positions: ReadonlyMap<number, number>): PartitionStatus[] {
    const reportedAt = new Date().toISOString();
    return [...buffers].map((buffer) => ({
      partition: buffer.partition,
      committed: buffer.committed,
      highWatermark: buffer.highWatermark,
      lag:
        Math.max(0, buffer.highWatermark - Math.max(buffer.next, positions.get(buffer.partition) ?? 0)) +
        buffer.records.length,
      buffered: buffer.records.length,
      lastFlushAt: buffer.lastFlushAt ? new Date(buffer.lastFlushAt).toISOString() : undefined,
      member: this.options.member,
      reportedAt,
    }));
  }

  /**
   * Sets the partition gauges and sends the workflow the report (bounded: a worker that is shutting down no
   * longer runs the workflow task that answers). Its answer, or undefined if it was not delivered.
   */
  async report(partitions: PartitionStatus[]): Promise<MemberCommand | undefined> {
    const { temporal, workflowId, member, topic, metrics } = this.options;
    this.lastReportAt = Date.now();
    const sent = this.delta;
    this.delta = emptyTotals();
    for (const status of partitions) {
      const labels = { topic, partition: status.partition };
      metrics.consumerLag.set(status.lag, labels);
      metrics.bufferedRecords.set(status.buffered, labels);
      if (status.lastFlushAt) metrics.lastFlushTimestamp.set(Date.parse(status.lastFlushAt) / 1000, labels);
    }
    const body: MemberReport = { member, partitions, delta: sent, lastError: this.lastError };
    try {
      return await temporal.withDeadline(Date.now() + REPORT_TIMEOUT_MS, () =>
        temporal.workflow.getHandle(workflowId).executeUpdate(memberReportUpdate, { args: [body] }),
      );
    } catch (error) {
      // Counted again with the next report; the workflow may be between runs.
      for (const field of Object.keys(sent) as (keyof ConsumerTotals)[]) this.delta[field] += sent[field];
      this.options.debug('report not delivered', { error: (error as Error).message });
      return undefined;
    }
  }
}
