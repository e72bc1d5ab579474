/**
 * The replay activities. Their parts live in activities/replay/: the source (file or S3, rows in order or sampled),
 * the pacing (pure: when each row is due) and the transaction pipeline (one transaction in flight while the next
 * batch is read); this module ties them to Kafka and Temporal.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { classifyKafkaError } from '../lib/errors';
import type { KafkaClient, OutgoingMessage, TransactionalProducer } from '../lib/kafka';
import type { TickSyncMetrics } from '../lib/metrics';
import { inferSchema, isoClock, tickValueCloser } from '../lib/rows';
import type { ReplayChunkInput, ReplayChunkResult, ReplayInput, ReplayMarker, ReplayPlan } from '../lib/contracts';
import { counted, mustWait, nextDue, PACING_SLICE_MS, pacingOf, rowDue, startClock } from './replay/pacing';
import { orderedRows, readHead, resolveSource, sampleRows, type SampleCache, type SourceRow } from './replay/source';
import { CsvReaderPool } from './replay/csv-reader';
import { OpenBatch, TransactionPipeline, type TransactionBatch } from './replay/transactions';

export interface ReplayActivityDeps {
  kafka: KafkaClient;
  /** Reads CSVs kept under the input prefix, with the producer's credentials. */
  inputS3: S3Client;
  inputPrefix: string;
  /** Prefix of the replay's transactional ids and progress groups (the Kafka client id). */
  groupPrefix: string;
  metrics: TickSyncMetrics;
}

/**
 * A transaction stays open this long at most, as a paced replay's slice does (PACING_SLICE_MS): a row waits at
 * most this long for its transaction to start, whatever `batchRows` is (Kafka Streams commits exactly-once
 * transactions every 100 ms too). `batchRows` then bounds a transaction at full speed only.
 */
export const MAX_TRANSACTION_MS = PACING_SLICE_MS;

export function createReplayActivities({ kafka, inputS3, inputPrefix, groupPrefix, metrics }: ReplayActivityDeps) {
  /** Checks the source, infers the schema from its header and first rows, and creates the topics. */
  async function prepareReplay(input: ReplayInput): Promise<ReplayPlan> {
    const source = resolveSource(input.source, inputS3, inputPrefix);
    const sourceBytes = await source.size();
    const { header, dataOffset, sample } = await readHead(source);
    const schema = inferSchema(source.name, header, sample, {
      symbolColumn: input.symbolColumn,
      timestampColumn: input.pacing.kind === 'timestamp' ? input.pacing.column : undefined,
    });

    const rejectsTopic = `${input.topic}.rejects`;
    const progressTopic = `${input.topic}.replay-progress`;
    const admin = kafka.admin();
    try {
      await admin.connect();
      // An existing topic is used as it is; a new one gets the asked-for partitions.
      await admin.createTopics([
        { topic: input.topic, numPartitions: input.partitions },
        { topic: rejectsTopic, numPartitions: 1 },
        { topic: progressTopic, numPartitions: 1 },
      ]);
    } catch (error) {
      throw classifyKafkaError('CreateTopics', error);
    } finally {
      await admin.disconnect();
    }
    return { ...schema, dataOffset, sourceBytes, rejectsTopic, progressTopic };
  }

  /** The last file read in `sample` mode, kept across chunks. */
  const sampleCache: SampleCache = new Map();
  /** CSV parser threads kept between chunks (a thread starts in 0.1–0.4 s; chunks can be 1 s). */
  const csvReaders = new CsvReaderPool();

  const progressGroup = (runId: string) => `${groupPrefix}.replay.${runId}`;

  /** The marker of the run's last committed transaction (the initial one before any). */
  async function readMarker(chunk: ReplayChunkInput): Promise<ReplayMarker> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Within the 10 s heartbeat timeout, heartbeating while it waits.
      const deadline = Date.now() + 8_000;
      for (;;) {
        Context.current().heartbeat();
        const offsets = await admin.fetchGroupOffsets(progressGroup(chunk.input.runId), chunk.plan.progressTopic);
        const partition = offsets.find((entry) => entry.partition === 0);
        const marker: ReplayMarker =
          partition && partition.offset !== '-1' && partition.metadata
            ? (JSON.parse(partition.metadata) as ReplayMarker)
            : { rowsRead: 0, sent: 0, rejected: 0, byteOffset: chunk.plan.dataOffset, pass: 0, passRow: 0 };
        // A commit this run made is always visible by now; an older value is a stale read.
        if (marker.rowsRead >= chunk.committed.rowsRead) return marker;
        if (Date.now() > deadline) {
          throw new Error(
            `progress marker of run ${chunk.input.runId} reads ${marker.rowsRead} rows, below the ${chunk.committed.rowsRead} committed`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Sends rows for up to `chunkSeconds`, each batch in one Kafka transaction
   * together with the run's progress marker, and returns the marker. Initialising
   * the run's transactional id first fences any older attempt and settles its open
   * transaction, so the marker read next is the truth.
   */
  async function replayChunk(chunk: ReplayChunkInput): Promise<ReplayChunkResult> {
    const context = Context.current();
    const started = Date.now();
    const { input, plan } = chunk;
    const producer = kafka.transactionalProducer({
      transactionalId: progressGroup(input.runId),
      transactionTimeoutMs: 60_000,
    });
    context.heartbeat();
    try {
      // Registering the transactional id fences older attempts of this run and settles their open
      // transaction, so the marker read next is final.
      await producer.connect();
    } catch (error) {
      throw classifyKafkaError('InitProducerId', error);
    }
    context.heartbeat();
    try {
      const marker = await readMarker(chunk);
      const source = resolveSource(input.source, inputS3, inputPrefix);
      if (input.mode === 'sample') {
        const rows = sampleRows(source, input, plan, marker, sampleCache, () => context.heartbeat());
        return await sendRows(chunk, producer, marker, rows, started);
      }
      const reader = csvReaders.acquire();
      try {
        return await sendRows(chunk, producer, marker, orderedRows(source, reader, input, plan, marker), started);
      } finally {
        csvReaders.release(reader);
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
      context.heartbeat();
    }
  }

  /** Commits one batch with the run's marker in one Kafka transaction, then counts and heartbeats it. */
  async function commitTransaction(
    producer: TransactionalProducer,
    chunk: ReplayChunkInput,
    batch: TransactionBatch<OutgoingMessage, ReplayMarker>,
  ): Promise<void> {
    const { input, plan } = chunk;
    const transaction = await producer.transaction();
    try {
      // The marker first: with the confluent client its round trips overlap the records' queueing. Within the
      // transaction the order does not matter: the commit makes records and marker visible together.
      await transaction.sendOffsets({
        groupId: progressGroup(input.runId),
        topic: plan.progressTopic,
        partitions: [{ partition: 0, offset: String(batch.marker.rowsRead), metadata: JSON.stringify(batch.marker) }],
      });
      if (batch.messages.length > 0) await transaction.send({ topic: input.topic, messages: batch.messages });
      if (batch.rejects.length > 0) await transaction.send({ topic: plan.rejectsTopic, messages: batch.rejects });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw classifyKafkaError('Kafka transaction', error);
    }
    // Counted once committed: the counters move with the run's marker, never ahead of it.
    metrics.replayRowsSent.add(batch.messages.length, { topic: input.topic });
    metrics.replayRowsRejected.add(batch.rejects.length, { topic: input.topic });
    Context.current().heartbeat(batch.marker);
  }

  async function sendRows(
    chunk: ReplayChunkInput,
    producer: TransactionalProducer,
    from: ReplayMarker,
    rows: AsyncGenerator<SourceRow[]>,
    started: number,
  ): Promise<ReplayChunkResult> {
    const context = Context.current();
    const { input } = chunk;
    const deadline = started + input.chunkSeconds * 1000;
    const pacing = pacingOf(input.pacing, chunk.rowsPerSecond);
    let clock = startClock(Date.now(), chunk.notBefore, from.pass);
    const marker: ReplayMarker = { ...from };
    const closeValue = tickValueCloser(input.runId);
    const now = isoClock();
    const open = new OpenBatch<OutgoingMessage>(input.batchRows, MAX_TRANSACTION_MS, Date.now());
    const pipeline = new TransactionPipeline((batch: TransactionBatch<OutgoingMessage, ReplayMarker>) =>
      commitTransaction(producer, chunk, batch),
    );
    const flush = async () => {
      const batch = open.take({ ...marker }, Date.now());
      if (batch) await pipeline.submit(batch);
    };
    let resumeAt: number | undefined;

    let done = false;
    try {
      // The previous chunk ended before its next row was due: wait for it (bounded by this chunk).
      for (
        let wait = Math.min(clock.start, deadline) - Date.now();
        wait > 0;
        wait = Math.min(clock.start, deadline) - Date.now()
      ) {
        await context.sleep(Math.min(wait, 1000));
        // A copy: the worker may encode a heartbeat later, when the marker already counts uncommitted rows.
        context.heartbeat({ ...marker });
      }
      if (clock.start >= deadline) resumeAt = clock.start;
      reading: for (;;) {
        if (Date.now() >= deadline) break;
        const next = await rows.next();
        if (next.done) {
          done = true;
          break;
        }
        for (const row of next.value) {
          if (context.cancellationSignal.aborted) {
            // The open batch is never committed: a cancelled run stops at its last commit.
            throw context.cancellationSignal.reason ?? new Error('cancelled');
          }
          if (input.limit !== undefined && marker.rowsRead >= input.limit) {
            done = true;
            break reading;
          }
          // Pacing: what is due within the next slice goes into the open batch, then we commit and wait.
          const due = rowDue(
            pacing,
            clock,
            { pass: row.pass, eventTime: row.ok ? row.eventTime : undefined },
            Date.now(),
          );
          clock = due.clock;
          if (mustWait(due.dueAt, Date.now())) {
            const dueAt = due.dueAt;
            await flush();
            await pipeline.settle();
            if (dueAt >= deadline) {
              // Due after this chunk: the next chunk starts with this row, at its time.
              resumeAt = dueAt;
              break reading;
            }
            // Sleep in slices that heartbeat, so a long gap in the file's clock is not taken for a dead worker.
            for (let wait = dueAt - Date.now(); wait > 0; wait = dueAt - Date.now()) {
              await context.sleep(Math.min(wait, 1000));
              context.heartbeat({ ...marker });
            }
          }

          clock = counted(clock);
          marker.rowsRead += 1;
          marker.byteOffset = row.byteOffset;
          marker.pass = row.pass;
          marker.passRow = row.row;
          const seq = marker.rowsRead;
          if (row.ok) {
            marker.sent += 1;
            // The envelope is stamped now, at sending: pacing may have held the row since it was read.
            open.add({ key: row.key, value: closeValue(row.head, now(), seq) });
          } else {
            marker.rejected += 1;
            open.reject({
              key: input.runId,
              value: JSON.stringify({
                run_id: input.runId,
                seq,
                row: row.row,
                source: input.source,
                raw: row.raw,
                reason: row.reason,
              }),
            });
          }
          if (open.full(Date.now())) await flush();
        }
      }
      await flush();
      await pipeline.settle();
    } finally {
      await pipeline.close();
      await rows.return(undefined);
    }
    // Stopped by the deadline between rows: at a fixed rate the next row's time is known.
    if (!done && resumeAt === undefined) resumeAt = nextDue(pacing, clock);
    return { marker, done, elapsedMs: Date.now() - started, resumeAt };
  }

  /** The marker of the run's last commit: where a chunk stopped early (a pause) left the run. */
  async function replayMarker(chunk: ReplayChunkInput): Promise<ReplayMarker> {
    return readMarker(chunk);
  }

  return { prepareReplay, replayChunk, replayMarker };
}
