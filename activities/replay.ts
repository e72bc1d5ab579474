import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { callAws, classifyKafkaError, ErrorType, nonRetryable } from '../lib/errors';
import type { KafkaClient, OutgoingMessage, TransactionalProducer } from '../lib/kafka';
import type { TickSyncMetrics } from '../lib/metrics';
import { convertRow, inferSchema, isoClock, tickValueEncoder, type RowSchema } from '../lib/rows';
import { parseS3Uri } from '../lib/s3-uri';
import { CsvReaderPool } from './replay/csv-reader';
import { csvParser, isCsvError, type CsvRow } from './replay/csv';
import type { ReplayChunkInput, ReplayChunkResult, ReplayInput, ReplayMarker, ReplayPlan } from '../lib/contracts';

export interface ReplayActivityDeps {
  kafka: KafkaClient;
  /** Reads CSVs kept under the input prefix, with the producer's credentials. */
  inputS3: S3Client;
  inputPrefix: string;
  /** Prefix of the replay's transactional ids and progress groups (the Kafka client id). */
  groupPrefix: string;
  metrics: TickSyncMetrics;
}

/** Rows sampled from the top of a file to tell numeric columns from text. */
const SCHEMA_SAMPLE_ROWS = 1000;
/** `sample` mode keeps the file in memory to draw rows at random. */
const SAMPLE_MODE_MAX_ROWS = 2_000_000;
/** Paced replays commit what is due in slices of this length: ~10 transactions a second. */
const PACING_SLICE_MS = 100;
/** A transaction stays open this long at most, so progress shows even at low rates. */
const MAX_TRANSACTION_MS = 1000;

interface Source {
  name: string;
  size(): Promise<number>;
  open(start: number): Promise<Readable>;
}

/** Pipes a source into a new parser; a read error (disk, S3) fails the parser instead of the process. */
function parseStream(stream: Readable, withBom: boolean) {
  const parser = csvParser(withBom);
  stream.once('error', (error) => parser.destroy(error));
  stream.pipe(parser);
  return parser;
}

/** A 32-bit hash of (run, seq): `sample` mode draws the same row for the same seq on every attempt. */
function sampleIndex(runId: string, seq: number, rows: number): number {
  let hash = 2166136261;
  for (const char of `${runId}:${seq}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 2246822507);
  hash ^= hash >>> 13;
  return (hash >>> 0) % rows;
}

export function createReplayActivities({ kafka, inputS3, inputPrefix, groupPrefix, metrics }: ReplayActivityDeps) {
  function resolveSource(source: string): Source {
    const s3 = parseS3Uri(source);
    if (s3?.key) {
      const { bucket, key } = s3;
      if (!key.startsWith(inputPrefix)) {
        throw nonRetryable(ErrorType.InvalidInput, `${source}: replays read S3 objects under ${inputPrefix} only`);
      }
      const head = () =>
        callAws('HeadObject', () => inputS3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).catch(
          (error) => {
            if ((error as { cause?: { name?: string } }).cause?.name === 'NotFound') {
              throw nonRetryable(ErrorType.InvalidInput, `${source}: no such object`);
            }
            throw error;
          },
        );
      return {
        name: source,
        size: async () => (await head()).ContentLength ?? 0,
        open: async (start) => {
          // S3 answers a range that starts at the end with 416: a resume at the end reads nothing.
          if (start > 0 && start >= ((await head()).ContentLength ?? 0)) return Readable.from([]);
          const object = await callAws('GetObject', () =>
            inputS3.send(
              new GetObjectCommand({ Bucket: bucket, Key: key, Range: start > 0 ? `bytes=${start}-` : undefined }),
            ),
          );
          return object.Body as Readable;
        },
      };
    }
    if (!path.isAbsolute(source)) {
      throw nonRetryable(
        ErrorType.InvalidInput,
        `${source}: expected an absolute path on the worker's host or an s3:// URL`,
      );
    }
    return {
      name: source,
      size: async () => {
        try {
          const stat = await fs.promises.stat(source);
          if (!stat.isFile()) throw nonRetryable(ErrorType.InvalidInput, `${source}: not a file`);
          await fs.promises.access(source, fs.constants.R_OK);
          return stat.size;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') throw nonRetryable(ErrorType.InvalidInput, `${source}: no such file on worker host`);
          if (code === 'EACCES') throw nonRetryable(ErrorType.InvalidInput, `${source}: not readable by the worker`);
          throw error;
        }
      },
      open: async (start) => fs.createReadStream(source, { start, highWaterMark: 1 << 20 }),
    };
  }

  /** Checks the source, infers the schema from its header and first rows, and creates the topics. */
  async function prepareReplay(input: ReplayInput): Promise<ReplayPlan> {
    const source = resolveSource(input.source);
    const sourceBytes = await source.size();
    const stream = await source.open(0);
    const parser = parseStream(stream, true);
    let header: string[] | undefined;
    let dataOffset = 0;
    const sample: string[][] = [];
    try {
      for await (const row of parser as AsyncIterable<CsvRow>) {
        if (!header) {
          header = row.record;
          dataOffset = row.info.bytes;
        } else sample.push(row.record);
        if (sample.length >= SCHEMA_SAMPLE_ROWS) break;
      }
    } catch (error) {
      if (!isCsvError(error)) throw error; // a read that failed (S3, disk) is retried
      throw nonRetryable(ErrorType.InvalidInput, `${source.name}: unreadable CSV: ${error.message}`);
    } finally {
      stream.destroy();
    }
    if (!header) throw nonRetryable(ErrorType.InvalidInput, `${source.name}: empty file, expected a header line`);
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
      const rows = input.mode === 'sample' ? sampleRows(input, plan, marker) : orderedRows(input, plan, marker);
      return await sendRows(chunk, producer, marker, rows, started);
    } finally {
      await producer.disconnect().catch(() => undefined);
      context.heartbeat();
    }
  }

  interface SourceRow {
    record: string[];
    raw: string;
    /** Data row number within the file, 1-based. */
    row: number;
    /** Marker fields after this row. */
    byteOffset: number;
    pass: number;
  }

  const csvReaders = new CsvReaderPool();

  /** The file's rows from the marker on, parsed on a thread of their own (most of a replay's CPU). */
  async function* orderedRows(input: ReplayInput, plan: ReplayPlan, from: ReplayMarker): AsyncGenerator<SourceRow[]> {
    const source = resolveSource(input.source);
    const reader = csvReaders.acquire();
    let { byteOffset, pass, passRow } = from;
    try {
      for (;;) {
        const stream = await source.open(byteOffset);
        const start = byteOffset;
        try {
          for await (const { fields, widths, raw, rawEnds, ends } of reader.batches(stream)) {
            const rows: SourceRow[] = new Array<SourceRow>(widths.length);
            let field = 0;
            for (let index = 0; index < widths.length; index++) {
              const width = widths[index] as number;
              passRow += 1;
              byteOffset = start + (ends[index] as number);
              rows[index] = {
                record: fields.slice(field, field + width),
                raw: raw.slice(index === 0 ? 0 : rawEnds[index - 1], rawEnds[index]).replace(/\r?\n?$/, ''),
                row: passRow,
                byteOffset,
                pass,
              };
              field += width;
            }
            yield rows;
          }
        } catch (error) {
          if (!isCsvError(error)) throw error;
          throw nonRetryable(
            ErrorType.InvalidInput,
            `${source.name}: unreadable CSV after data row ${passRow}: ${error.message}`,
          );
        } finally {
          stream.destroy();
        }
        // A file with no data rows would loop forever without sending anything.
        if (!input.loop || passRow === 0) return;
        pass += 1;
        passRow = 0;
        byteOffset = plan.dataOffset;
      }
    } finally {
      csvReaders.release(reader);
    }
  }

  const sampleCache = new Map<string, { records: string[][]; raws: string[] }>();

  async function* sampleRows(input: ReplayInput, plan: ReplayPlan, from: ReplayMarker): AsyncGenerator<SourceRow[]> {
    const source = resolveSource(input.source);
    const cacheKey = `${input.source}:${plan.sourceBytes}`;
    let cached = sampleCache.get(cacheKey);
    if (!cached) {
      const records: string[][] = [];
      const raws: string[] = [];
      const stream = await source.open(plan.dataOffset);
      const parser = parseStream(stream, false);
      try {
        for await (const { record, raw } of parser as AsyncIterable<CsvRow>) {
          records.push(record);
          raws.push(raw.replace(/\r?\n?$/, ''));
          if (records.length % 10_000 === 0) Context.current().heartbeat();
          if (records.length > SAMPLE_MODE_MAX_ROWS) {
            throw nonRetryable(
              ErrorType.InvalidInput,
              `${source.name}: sample mode holds the file in memory and takes ${SAMPLE_MODE_MAX_ROWS} rows at most`,
            );
          }
        }
      } catch (error) {
        if (!isCsvError(error)) throw error;
        throw nonRetryable(ErrorType.InvalidInput, `${source.name}: unreadable CSV: ${error.message}`);
      } finally {
        stream.destroy();
      }
      if (records.length === 0) throw nonRetryable(ErrorType.InvalidInput, `${source.name}: no data rows to sample`);
      cached = { records, raws };
      sampleCache.clear();
      sampleCache.set(cacheKey, cached);
    }
    // Drawing by (run, seq) makes a retried chunk send the rows the failed attempt drew.
    for (let seq = from.rowsRead + 1; ; seq += 1000) {
      yield Array.from({ length: 1000 }, (_, offset) => {
        const index = sampleIndex(input.runId, seq + offset, cached.records.length);
        return {
          record: cached.records[index] as string[],
          raw: cached.raws[index] as string,
          row: index + 1,
          byteOffset: 0,
          pass: 0,
        };
      });
    }
  }

  async function sendRows(
    chunk: ReplayChunkInput,
    producer: TransactionalProducer,
    from: ReplayMarker,
    rows: AsyncGenerator<SourceRow[]>,
    started: number,
  ): Promise<ReplayChunkResult> {
    const context = Context.current();
    const { input, plan } = chunk;
    const schema: RowSchema = plan;
    const deadline = started + input.chunkSeconds * 1000;
    const rate = chunk.rowsPerSecond ?? (input.pacing.kind === 'rate' ? input.pacing.rowsPerSecond : undefined);
    const speed = input.pacing.kind === 'timestamp' ? input.pacing.speed : undefined;
    const marker: ReplayMarker = { ...from };
    const encodeValue = tickValueEncoder(input.runId);
    const now = isoClock();
    let messages: OutgoingMessage[] = [];
    let rejects: OutgoingMessage[] = [];
    let openedAt = Date.now();
    // Pacing carries over chunks: the first row of this chunk is due when the last chunk
    // said the next row would be (notBefore), and later rows count from there.
    let paceStart = Math.max(Date.now(), chunk.notBefore ?? 0);
    let paced = 0;
    let firstEventTime: number | undefined;
    let anchorPass = from.pass;
    let resumeAt: number | undefined;

    async function commitTransaction(batch: {
      messages: OutgoingMessage[];
      rejects: OutgoingMessage[];
      marker: ReplayMarker;
    }) {
      const transaction = await producer.transaction();
      try {
        if (batch.messages.length > 0) await transaction.send({ topic: input.topic, messages: batch.messages });
        if (batch.rejects.length > 0) await transaction.send({ topic: plan.rejectsTopic, messages: batch.rejects });
        await transaction.sendOffsets({
          groupId: progressGroup(input.runId),
          topic: plan.progressTopic,
          partitions: [{ partition: 0, offset: String(batch.marker.rowsRead), metadata: JSON.stringify(batch.marker) }],
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw classifyKafkaError('Kafka transaction', error);
      }
      // Counted once committed: the counters move with the run's marker, never ahead of it.
      metrics.replayRowsSent.add(batch.messages.length, { topic: input.topic });
      metrics.replayRowsRejected.add(batch.rejects.length, { topic: input.topic });
      context.heartbeat(batch.marker);
    }

    // One transaction is in flight while the next batch is read and encoded:
    // the broker's round trips overlap the CPU work instead of following it.
    let inFlight: Promise<void> | undefined;
    const settle = async () => {
      const pending = inFlight;
      inFlight = undefined;
      await pending;
    };
    const flush = async () => {
      if (messages.length === 0 && rejects.length === 0) return;
      const batch = { messages, rejects, marker: { ...marker } };
      messages = [];
      rejects = [];
      openedAt = Date.now();
      await settle();
      inFlight = commitTransaction(batch);
      inFlight.catch(() => undefined); // surfaced by the next settle()
    };

    let done = false;
    try {
      // The previous chunk ended before its next row was due: wait for it (bounded by this chunk).
      for (
        let wait = Math.min(paceStart, deadline) - Date.now();
        wait > 0;
        wait = Math.min(paceStart, deadline) - Date.now()
      ) {
        await context.sleep(Math.min(wait, 1000));
        // A copy: the worker may encode a heartbeat later, when the marker already counts uncommitted rows.
        context.heartbeat({ ...marker });
      }
      if (paceStart >= deadline) resumeAt = paceStart;
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
          const outcome = convertRow(schema, row.record);

          // Pacing: a row is due at its place in the rate or the file's own clock; what is due
          // within the next slice goes into the open batch, then we commit and wait.
          let dueAt: number | undefined;
          if (rate !== undefined) dueAt = paceStart + (paced * 1000) / rate;
          else if (speed !== undefined && outcome.ok && outcome.eventTime !== undefined) {
            if (row.pass !== anchorPass) {
              // A looped file starts its clock over: re-anchor instead of bursting the new pass.
              anchorPass = row.pass;
              firstEventTime = undefined;
              paceStart = Math.max(Date.now(), paceStart);
            }
            firstEventTime ??= outcome.eventTime;
            dueAt = paceStart + (outcome.eventTime - firstEventTime) / speed;
          }
          if (dueAt !== undefined && dueAt > Date.now() + PACING_SLICE_MS) {
            await flush();
            await settle();
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

          paced += 1;
          marker.rowsRead += 1;
          marker.byteOffset = row.byteOffset;
          marker.pass = row.pass;
          marker.passRow = row.row;
          const seq = marker.rowsRead;
          if (outcome.ok) {
            marker.sent += 1;
            messages.push({
              key: outcome.key,
              value: encodeValue(outcome.fields, now(), seq),
            });
          } else {
            marker.rejected += 1;
            rejects.push({
              key: input.runId,
              value: JSON.stringify({
                run_id: input.runId,
                seq,
                row: row.row,
                source: input.source,
                raw: row.raw,
                reason: outcome.reason,
              }),
            });
          }
          if (messages.length + rejects.length >= input.batchRows || Date.now() - openedAt >= MAX_TRANSACTION_MS) {
            await flush();
          }
        }
      }
      await flush();
      await settle();
    } finally {
      await inFlight?.catch(() => undefined);
      await rows.return(undefined);
    }
    // Stopped by the deadline between rows: at a fixed rate the next row's time is known.
    if (!done && resumeAt === undefined && rate !== undefined) resumeAt = paceStart + (paced * 1000) / rate;
    return { marker, done, elapsedMs: Date.now() - started, resumeAt };
  }

  /** The marker of the run's last commit: where a chunk stopped early (a pause) left the run. */
  async function replayMarker(chunk: ReplayChunkInput): Promise<ReplayMarker> {
    return readMarker(chunk);
  }

  return { prepareReplay, replayChunk, replayMarker };
}
