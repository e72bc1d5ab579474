import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import {
  CreatePartitionCommand,
  GetPartitionCommand,
  GetTableCommand,
  UpdatePartitionCommand,
  UpdateTableCommand,
  type Column,
  type GlueClient,
  type Partition,
  type PartitionInput,
  type StorageDescriptor,
  type Table,
} from '@aws-sdk/client-glue';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { duckDbType, quoteIdentifier, quoteString } from '../local-aws/athena/engine/glue-types';
import type { Config } from '../lib/config';
import { callAws, classifyAwsError, ErrorType, isAwsError, nonRetryable } from '../lib/errors';
import { COMPACTED_SOURCE, deadLetterLine } from '../lib/lake';
import { HOUR_MS, hourFolder as hourName, hourStart, isLakeHour, nextHour } from '../lib/hour-keys';
import { COLUMN_CANDIDATES } from '../lib/queries';
import { ensureLakeTables, lakeViewInput, PARQUET_STORAGE } from '../lib/provision-lake';
import { curatedTableName, lakeViewName } from '../lib/ticks-table';
import type { ClosedHoursInput, CompactHourInput, HourCompaction, LakeHour } from '../lib/contracts';

const gunzipAsync = promisify(gunzip);

export interface CompactActivityDeps {
  /** Clients with the compactor's credentials: read raw/, write curated/ and dlq/, publish partitions. */
  s3: S3Client;
  glue: GlueClient;
  config: Pick<Config, 's3'>;
  logger: Logger;
}

/** Partition parameters the compactor writes with a published hour (and reads back to know what it published). */
export const COMPACTED = {
  /** Fingerprint of the raw objects the published Parquet was made from. */
  source: COMPACTED_SOURCE,
  records: 'ticksync.compacted.records',
  files: 'ticksync.compacted.files',
  /** The raw hour's folder, which stays where it is. */
  rawLocation: 'ticksync.compacted.raw-location',
  at: 'ticksync.compacted.at',
} as const;

const HEARTBEAT_MS = 5_000;
const S3_CONCURRENCY = 8;

/** `s3://bucket/prefix/` as bucket and a prefix ending in a slash. */
function s3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3a?n?:\/\/([^/]+)\/(.*)$/.exec(location);
  if (!match) throw nonRetryable(ErrorType.InvalidInput, `location '${location}' is not an s3:// location`);
  const prefix = match[2]!;
  return { bucket: match[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

interface RawObject {
  key: string;
  etag: string;
  size: number;
  lastModified: number;
}

/** Hadoop's rule for what a reader skips: hidden (`_`, `.`) names and folder markers. */
const readable = (key: string, prefix: string) =>
  !key.endsWith('/') &&
  key
    .slice(prefix.length)
    .split('/')
    .every((segment) => segment !== '' && !segment.startsWith('_') && !segment.startsWith('.'));

/**
 * The fingerprint of an hour's raw objects: any object added, replaced or removed changes it, so a published
 * hour whose fingerprint still matches needs nothing, and a late record makes the hour compacted again.
 */
export function sourceFingerprint(objects: { key: string; etag: string; size: number }[]): string {
  const hash = createHash('sha256');
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    hash.update(`${object.key}\u0000${object.etag}\u0000${object.size}\n`);
  }
  return hash.digest('hex');
}

/** A raw object's Kafka partition and first offset, from its name `<topic>+<partition>+<offset>.jsonl.gz`. */
function kafkaPosition(key: string): { partition: number; offset: bigint } {
  const match = /\+(\d+)\+(\d+)\.[^/]*$/.exec(key);
  return match ? { partition: Number(match[1]), offset: BigInt(match[2]!) } : { partition: -1, offset: -1n };
}

/** Whether a parsed JSON value can be read as the Glue type (the checks the typed reader would fail). */
function fitsType(value: unknown, glueType: string): boolean {
  if (value === null || value === undefined) return true;
  const type = glueType.toLowerCase();
  if (['tinyint', 'smallint', 'int', 'integer', 'bigint'].includes(type)) {
    return typeof value === 'number' ? Number.isInteger(value) : typeof value === 'string' && /^-?\d+$/.test(value);
  }
  if (['double', 'float', 'real'].includes(type) || type.startsWith('decimal')) {
    return typeof value === 'number' || (typeof value === 'string' && Number.isFinite(Number(value)));
  }
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'string' || type.startsWith('varchar') || type.startsWith('char')) return typeof value !== 'object';
  return true;
}

/** A compaction's work folder on the worker's host, named after the worker's pid. */
const WORK_PREFIX = 'ticksync-compact-';
const workOwner = (name: string) => Number(/^ticksync-compact-(\d+)-/.exec(name)?.[1] ?? 0);

/** Whether a process with this pid runs on the host (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the work folders of compact workers that no longer run (killed mid-hour, they could not clean up);
 * folders of live workers on the same host are theirs and stay.
 */
export async function removeOrphanedWork(logger: Logger, tmp = os.tmpdir()): Promise<string[]> {
  const orphans = (await fs.readdir(tmp)).filter((name) => {
    const pid = workOwner(name);
    return pid > 0 && !processAlive(pid);
  });
  for (const name of orphans) await fs.rm(path.join(tmp, name), { recursive: true, force: true });
  if (orphans.length > 0) logger.info({ folders: orphans }, 'removed work folders of compact workers that stopped');
  return orphans;
}

export function createCompactActivities({ s3, glue, config, logger }: CompactActivityDeps) {
  removeOrphanedWork(logger).catch((error: Error) =>
    logger.warn({ err: error }, 'could not remove the work folders of stopped compact workers'),
  );
  async function getTable(database: string, name: string): Promise<Table> {
    let table: Table | undefined;
    try {
      ({ Table: table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: name })));
    } catch (error) {
      if (isAwsError(error, 'EntityNotFoundException')) {
        throw nonRetryable(
          ErrorType.NotFound,
          `table ${database}.${name} does not exist: crawl the raw topic first (npm run crawl), or name another with --table`,
        );
      }
      throw classifyAwsError('GetTable', error);
    }
    if (!table?.StorageDescriptor?.Location) {
      throw nonRetryable(ErrorType.InvalidInput, `table ${database}.${name} has no location`);
    }
    const keys = (table.PartitionKeys ?? []).map((key) => key.Name?.toLowerCase());
    if (keys.length !== 2 || keys[0] !== 'dt' || keys[1] !== 'hour') {
      throw nonRetryable(
        ErrorType.InvalidInput,
        `table ${database}.${name} is partitioned by (${keys.join(', ')}), not (dt, hour): it is not a TickSync topic table`,
      );
    }
    return table;
  }

  /** The hour's partition in the curated table, if it was ever published. */
  async function getPartition(input: CompactHourInput | (LakeHour & { database: string; table: string })) {
    try {
      const { Partition: partition } = await glue.send(
        new GetPartitionCommand({
          DatabaseName: input.database,
          TableName: curatedTableName(input.table),
          PartitionValues: [input.dt, input.hour],
        }),
      );
      return partition as Partition | undefined;
    } catch (error) {
      if (isAwsError(error, 'EntityNotFoundException')) return undefined;
      throw classifyAwsError('GetPartition', error);
    }
  }

  /**
   * The curated table and the lake view beside the raw table (lib/provision-lake.ts: provision makes them up
   * front; a lake provisioned before that gets them here), made if missing and given the raw table's columns
   * when they changed. Returns the view's watermark.
   */
  async function ensureLake(database: string, raw: Table): Promise<string> {
    try {
      return (await ensureLakeTables(glue, config, database, raw)).watermark;
    } catch (error) {
      throw classifyAwsError('ensureLakeTables', error);
    }
  }

  /** The hours that have raw objects, from the `dt=…/hour=…/` folders under the table's location. */
  async function rawHours(table: Table, fromDt: string): Promise<LakeHour[]> {
    const { bucket, prefix } = s3Location(table.StorageDescriptor!.Location!);
    const folders = async (under: string, pattern: RegExp) => {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await callAws('ListObjectsV2', () =>
          s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: under, Delimiter: '/', ContinuationToken: token }),
          ),
        );
        for (const common of page.CommonPrefixes ?? []) {
          const match = pattern.exec(common.Prefix!.slice(under.length));
          if (match) names.push(match[1]!);
        }
        token = page.NextContinuationToken;
      } while (token);
      return names.sort();
    };
    const hours: LakeHour[] = [];
    for (const dt of await folders(prefix, /^dt=(\d{4}-\d{2}-\d{2})\/$/)) {
      if (dt < fromDt) continue;
      for (const hour of await folders(`${prefix}dt=${dt}/`, /^hour=(\d{2})\/$/)) {
        if (isLakeHour({ dt, hour })) hours.push({ dt, hour });
      }
      Context.current().heartbeat();
    }
    return hours;
  }

  const watermarkOf = ({ dt, hour }: LakeHour) => `${dt}T${hour}`;

  /**
   * Moves the lake view's watermark past `upTo` if every raw hour from the watermark to it is published
   * with its current raw objects, else to the first that is not: hours below the watermark are then read
   * from curated/, each exactly as complete as its raw hour. One UpdateTable, after the partitions it
   * relies on are published; never past an hour not yet compacted, so no tick is ever missing or twice.
   */
  async function advanceWatermark(input: CompactHourInput, raw: Table, current: string): Promise<void> {
    const upTo = watermarkOf(input);
    if (upTo < current) return;
    let next: string | undefined;
    for (const hour of await rawHours(raw, current.slice(0, 10))) {
      const name = watermarkOf(hour);
      if (name < current) continue;
      if (name > upTo) break;
      const partition = await getPartition({ ...hour, database: input.database, table: input.table });
      const location = `${raw.StorageDescriptor!.Location!.replace(/\/?$/, '/')}${hourName(hour)}/`;
      const { bucket, prefix } = s3Location(location);
      const objects = (await listObjects(bucket, prefix)).filter((object) => readable(object.key, prefix));
      if (objects.length > 0 && partition?.Parameters?.[COMPACTED.source] !== sourceFingerprint(objects)) {
        next = name;
        break;
      }
    }
    next ??= watermarkOf(nextHour(input));
    if (next <= current) return;
    await callAws('UpdateTable', () =>
      glue.send(
        new UpdateTableCommand({ DatabaseName: input.database, TableInput: lakeViewInput(input.database, raw, next) }),
      ),
    );
    logger.info({ table: lakeViewName(input.table), watermark: next }, 'lake watermark advanced');
  }

  async function listObjects(bucket: string, prefix: string): Promise<RawObject[]> {
    const objects: RawObject[] = [];
    let token: string | undefined;
    do {
      const page = await callAws('ListObjectsV2', () =>
        s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const item of page.Contents ?? []) {
        if (!item.Key || !item.Size) continue;
        objects.push({
          key: item.Key,
          etag: item.ETag ?? '',
          size: item.Size,
          lastModified: item.LastModified?.getTime() ?? 0,
        });
      }
      token = page.NextContinuationToken;
    } while (token);
    return objects;
  }

  async function download(bucket: string, key: string): Promise<Buffer> {
    const object = await callAws('GetObject', () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  async function mapLimit<T, R>(items: T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const run = async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(S3_CONCURRENCY, items.length) }, run));
    return results;
  }

  /**
   * The closed hours to look at: those asked for (each must be closed), or every hour of the table's
   * partitions that ended at least `graceMinutes` ago and started within `lookbackHours`.
   */
  async function closedHours(input: ClosedHoursInput & { hours?: LakeHour[] }): Promise<LakeHour[]> {
    const now = Date.now();
    const closedBefore = now - input.graceMinutes * 60_000;
    if (input.hours) {
      for (const hour of input.hours) {
        if (!isLakeHour(hour)) {
          throw nonRetryable(ErrorType.InvalidInput, `hour ${JSON.stringify(hour)} is not dt=YYYY-MM-DD, hour=00..23`);
        }
        if (hourStart(hour) + HOUR_MS > closedBefore) {
          const closes = new Date(hourStart(hour) + HOUR_MS + input.graceMinutes * 60_000).toISOString();
          throw nonRetryable(
            ErrorType.InvalidInput,
            `hour ${hourName(hour)} is not closed yet: it closes at ${closes} (its end plus the ${input.graceMinutes} min grace)`,
          );
        }
      }
      await ensureLake(input.database, await getTable(input.database, input.table));
      return input.hours;
    }
    const table = await getTable(input.database, input.table);
    await ensureLake(input.database, table);
    const since = now - input.lookbackHours * HOUR_MS;
    return (await rawHours(table, new Date(since - HOUR_MS).toISOString().slice(0, 10))).filter((candidate) => {
      const start = hourStart(candidate);
      return start >= since - HOUR_MS && start + HOUR_MS <= closedBefore;
    });
  }

  /**
   * Compacts one closed hour: reads its raw gzip JSON Lines objects, writes them as zstd Parquet sorted by
   * symbol and time under `curated/<table>/dt=…/hour=…/v=<fingerprint>/`, publishes the hour in one step
   * (one Glue partition write in `<table>_curated`), then moves the lake view's watermark past it when every
   * raw hour before it is published too. Readers of the view see each hour raw or compacted, never both.
   * Idempotent: an hour whose published fingerprint matches its raw objects is left as it is.
   */
  async function compactHour(input: CompactHourInput): Promise<HourCompaction> {
    if (!isLakeHour(input)) {
      throw nonRetryable(ErrorType.InvalidInput, `hour ${JSON.stringify(input)} is not dt=YYYY-MM-DD, hour=00..23`);
    }
    const context = Context.current();
    const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
    try {
      return await compact(input, context.cancellationSignal);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async function compact(input: CompactHourInput, signal: AbortSignal): Promise<HourCompaction> {
    const table = await getTable(input.database, input.table);
    const watermark = await ensureLake(input.database, table);
    const partition = await getPartition(input);
    const tableLocation = table.StorageDescriptor!.Location!.replace(/\/?$/, '/');
    const rawLocation = `${tableLocation}${hourName(input)}/`;
    const raw = s3Location(rawLocation);
    const objects = (await listObjects(raw.bucket, raw.prefix)).filter((object) => readable(object.key, raw.prefix));
    const fingerprint = sourceFingerprint(objects);
    const base = { dt: input.dt, hour: input.hour, rawObjects: objects.length };
    const curatedHour = `${config.s3.curatedPrefix}${input.table}/${hourName(input)}/`;
    const version = `${curatedHour}v=${fingerprint.slice(0, 16)}/`;
    const versionLocation = `s3://${config.s3.bucket}/${version}`;
    const published = partition?.StorageDescriptor?.Location;
    if (objects.length === 0) {
      return { ...base, outcome: 'empty', records: 0, files: 0, bytes: 0, deadLetters: 0, location: published };
    }
    if (partition?.Parameters?.[COMPACTED.source] === fingerprint && published === versionLocation) {
      // Published by an attempt that stopped before the view: the watermark step is redone.
      await advanceWatermark(input, table, watermark);
      return {
        ...base,
        outcome: 'unchanged',
        records: Number(partition.Parameters[COMPACTED.records] ?? 0),
        files: Number(partition.Parameters[COMPACTED.files] ?? 0),
        bytes: 0,
        deadLetters: 0,
        location: published,
      };
    }
    const columns = table.StorageDescriptor!.Columns ?? [];
    if (columns.length === 0) {
      throw nonRetryable(ErrorType.InvalidInput, `table ${input.database}.${input.table} has no columns`);
    }

    const work = await fs.mkdtemp(path.join(os.tmpdir(), `${WORK_PREFIX}${process.pid}-`));
    try {
      const files = await mapLimit(objects, async (object, index) => {
        const file = path.join(work, `${index}.jsonl.gz`);
        await fs.writeFile(file, await download(raw.bucket, object.key));
        return file;
      });
      signal.throwIfAborted();
      const written = await writeParquet(input, table, columns, objects, files, work, raw.bucket);
      signal.throwIfAborted();
      const outputs = (await fs.readdir(written.dir)).filter((name) => name.endsWith('.parquet')).sort();
      let bytes = 0;
      await mapLimit(outputs, async (name, index) => {
        const body = await fs.readFile(path.join(written.dir, name));
        bytes += body.length;
        const key = `${version}part-${String(index).padStart(5, '0')}.zstd.parquet`;
        await callAws('PutObject', () =>
          s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: body }), { abortSignal: signal }),
        );
      });
      signal.throwIfAborted();
      // A late object that arrived while this ran: publish nothing stale, the next run compacts it.
      const again = (await listObjects(raw.bucket, raw.prefix)).filter((object) => readable(object.key, raw.prefix));
      if (sourceFingerprint(again) !== fingerprint) {
        throw new Error(`raw objects of ${hourName(input)} changed during compaction; the hour is compacted again`);
      }
      await publish(
        input,
        columns,
        partition,
        {
          [COMPACTED.source]: fingerprint,
          [COMPACTED.records]: String(written.records),
          [COMPACTED.files]: String(outputs.length),
          [COMPACTED.rawLocation]: rawLocation,
          [COMPACTED.at]: new Date().toISOString(),
        },
        versionLocation,
      );
      logger.info(
        {
          hour: hourName(input),
          records: written.records,
          files: outputs.length,
          bytes,
          deadLetters: written.deadLetters,
        },
        'hour compacted and published',
      );
      await advanceWatermark(input, table, watermark);
      await removeOldVersions(curatedHour, [version, published]);
      return {
        ...base,
        outcome: 'published',
        records: written.records,
        files: outputs.length,
        bytes,
        deadLetters: written.deadLetters,
        location: versionLocation,
      };
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  /** The one step that makes the compacted hour visible: the partition now reads the Parquet files. */
  async function publish(
    input: CompactHourInput,
    columns: Column[],
    partition: Partition | undefined,
    parameters: Record<string, string>,
    location: string,
  ): Promise<void> {
    const storage: StorageDescriptor = {
      ...PARQUET_STORAGE,
      Columns: columns,
      Location: location,
      Compressed: true,
      Parameters: { classification: 'parquet', compressionType: 'zstd' },
    };
    const partitionInput: PartitionInput = {
      Values: [input.dt, input.hour],
      StorageDescriptor: storage,
      Parameters: { ...(partition?.Parameters ?? {}), ...parameters, classification: 'parquet' },
    };
    const update = () =>
      callAws('UpdatePartition', () =>
        glue.send(
          new UpdatePartitionCommand({
            DatabaseName: input.database,
            TableName: curatedTableName(input.table),
            PartitionValueList: [input.dt, input.hour],
            PartitionInput: partitionInput,
          }),
        ),
      );
    if (partition) {
      await update();
      return;
    }
    try {
      await glue.send(
        new CreatePartitionCommand({
          DatabaseName: input.database,
          TableName: curatedTableName(input.table),
          PartitionInput: partitionInput,
        }),
      );
    } catch (error) {
      // An earlier attempt created it meanwhile: switch it.
      if (!isAwsError(error, 'AlreadyExistsException')) {
        throw classifyAwsError('CreatePartition', error);
      }
      await update();
    }
  }

  /** Versions of the hour other than the published one and the one it replaced (a reader may be reading it). */
  async function removeOldVersions(curatedHour: string, keep: (string | undefined)[]): Promise<void> {
    const kept = keep.flatMap((entry) => {
      if (!entry) return [];
      return [entry.startsWith('s3://') ? s3Location(entry).prefix : entry];
    });
    const stale = (await listObjects(config.s3.bucket, curatedHour)).filter(
      (object) => !kept.some((prefix) => object.key.startsWith(prefix)),
    );
    for (let start = 0; start < stale.length; start += 1000) {
      const batch = stale.slice(start, start + 1000).map((object) => ({ Key: object.key }));
      await callAws('DeleteObjects', () =>
        s3.send(new DeleteObjectsCommand({ Bucket: config.s3.bucket, Delete: { Objects: batch, Quiet: true } })),
      );
    }
  }

  /**
   * Reads the hour's raw files with DuckDB, typed as the table's columns, and writes them sorted as zstd
   * Parquet of about `targetMb` per file. A file DuckDB cannot read is read line by line: the lines that
   * parse and fit the columns are kept, the others (or the whole object, when it is not gzip) go to dlq/.
   */
  async function writeParquet(
    input: CompactHourInput,
    table: Table,
    columns: Column[],
    objects: RawObject[],
    files: string[],
    work: string,
    bucket: string,
  ): Promise<{ dir: string; records: number; deadLetters: number }> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '2',
      memory_limit: '1GB',
      temp_directory: path.join(work, 'spill'),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    try {
      const spec = `{${columns.map((c) => `${quoteString(c.Name!.toLowerCase())}: ${quoteString(duckDbType(c.Type ?? 'string'))}`).join(', ')}}`;
      const projection = columns.map((c) => quoteIdentifier(c.Name!.toLowerCase())).join(', ');
      const readSql = (list: string[]) =>
        `SELECT ${projection} FROM read_json([${list.map(quoteString).join(', ')}], columns = ${spec}, format = 'newline_delimited', records = true)`;
      let deadLetters = 0;
      let readableFiles = files;
      try {
        await connection.run(`CREATE TABLE hour_rows AS ${readSql(files)}`);
      } catch {
        // Some object is not what the table says: find which, line by line.
        readableFiles = [];
        for (const [index, file] of files.entries()) {
          const single = await connection.run(`SELECT count(*) FROM (${readSql([file])})`).then(
            () => true,
            () => false,
          );
          if (single) {
            readableFiles.push(file);
            continue;
          }
          const salvaged = await salvage(input, table, columns, objects[index]!, file, bucket);
          deadLetters += salvaged.deadLetters;
          if (salvaged.file) readableFiles.push(salvaged.file);
        }
        await connection.run(
          readableFiles.length > 0
            ? `CREATE OR REPLACE TABLE hour_rows AS ${readSql(readableFiles)}`
            : `CREATE OR REPLACE TABLE hour_rows AS SELECT ${columns.map((c) => `CAST(NULL AS ${duckDbType(c.Type ?? 'string')}) AS ${quoteIdentifier(c.Name!.toLowerCase())}`).join(', ')} WHERE false`,
        );
      }
      const count = await connection.run('SELECT count(*) FROM hour_rows');
      const records = Number((await count.getRows())[0]![0]);
      const dir = path.join(work, 'parquet');
      await connection.run(
        `COPY (SELECT * FROM hour_rows ORDER BY ${sortKeys(columns)}) TO ${quoteString(dir)} (FORMAT parquet, ${PARQUET_OPTIONS}, FILE_SIZE_BYTES ${Math.max(1, Math.round(input.targetMb * 1024 * 1024))}, FILENAME_PATTERN 'part_{i}')`,
      );
      return { dir, records, deadLetters };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  /** Keeps a corrupt object's good lines in a clean file; its bad lines (or all of it) become dead letters. */
  async function salvage(
    input: CompactHourInput,
    table: Table,
    columns: Column[],
    object: RawObject,
    file: string,
    bucket: string,
  ): Promise<{ file?: string; deadLetters: number }> {
    const { partition, offset } = kafkaPosition(object.key);
    const timestamp = String(object.lastModified);
    const source = `s3://${bucket}/${object.key}`;
    const compressed = await fs.readFile(file);
    const letters: string[] = [];
    const good: string[] = [];
    let text: string | undefined;
    try {
      text = (await gunzipAsync(compressed)).toString('utf8');
    } catch (error) {
      letters.push(
        deadLetterLine(
          input.table,
          partition,
          String(offset),
          timestamp,
          null,
          compressed,
          `raw object ${source} is not gzip: ${(error as Error).message}`,
        ),
      );
    }
    if (text !== undefined) {
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      lines.forEach((line, index) => {
        const at = `line ${index + 1} of raw object ${source}`;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (error) {
          letters.push(
            deadLetterLine(
              input.table,
              partition,
              String(offset + BigInt(index)),
              timestamp,
              null,
              Buffer.from(line),
              `${at} is not JSON: ${(error as Error).message}`,
            ),
          );
          return;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          letters.push(
            deadLetterLine(
              input.table,
              partition,
              String(offset + BigInt(index)),
              timestamp,
              null,
              Buffer.from(line),
              `${at} is not a JSON object`,
            ),
          );
          return;
        }
        const record = value as Record<string, unknown>;
        const misfit = columns.find((column) => !fitsType(record[column.Name!.toLowerCase()], column.Type ?? 'string'));
        if (misfit) {
          letters.push(
            deadLetterLine(
              input.table,
              partition,
              String(offset + BigInt(index)),
              timestamp,
              null,
              Buffer.from(line),
              `${at}: ${misfit.Name} is not a ${misfit.Type} (table ${table.DatabaseName}.${table.Name})`,
            ),
          );
          return;
        }
        good.push(line);
      });
    }
    if (letters.length > 0) {
      const name = path.basename(object.key).replace(/\.jsonl\.gz$|\.gz$/, '');
      const key = `${config.s3.dlqPrefix}${input.table}/${hourName(input)}/compact+${name}.jsonl`;
      await callAws('PutObject', () =>
        s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: `${letters.join('\n')}\n` })),
      );
      logger.warn(
        { object: source, deadLetters: letters.length, dlq: key },
        'raw object partly unreadable: sent to dlq',
      );
    }
    if (good.length === 0) return { deadLetters: letters.length };
    const clean = `${file}.clean.jsonl`;
    await fs.writeFile(clean, `${good.join('\n')}\n`);
    return { file: clean, deadLetters: letters.length };
  }

  return { closedHours, compactHour };
}

/**
 * How the curated Parquet is written (measured in docs/BENCHMARKS.md, issue 20 v4): zstd at level 9 (level 3,
 * DuckDB's default, is 7% larger; 15 and 19 smaller but 2x and 12x slower to write); row groups of 32,768 rows
 * (about 400 KB at ~12 bytes a row), so a row group spans a few minutes of the hour and a window of the last
 * minutes reads only the row groups it overlaps; Parquet format version 1 encodings (PLAIN, dictionary), which
 * every Athena/Trino and Spark reader reads: the version 2 ones DuckDB writes (BYTE_STREAM_SPLIT doubles,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY) made the hour 8% larger (the doubles 1.6x larger), so they
 * do not pay here. A writer that picks encodings per column (Arrow's, measured in docs/BENCHMARKS.md, "What any
 * Parquet writer could do") reads 12% fewer bytes for the named queries' window: not worth a second writer.
 */
const PARQUET_OPTIONS = 'COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE 32768';

/**
 * The minute of arrival, then symbol, event time, arrival time and the envelope: a total order, so a rerun
 * writes the same rows, and within each minute the rows of a symbol are together and in time order.
 */
function sortKeys(columns: Column[]): string {
  const names = new Set(columns.map((column) => column.Name!.toLowerCase()));
  const textTs = columns.some((column) => column.Name!.toLowerCase() === 'ts' && column.Type === 'string');
  const order = [...COLUMN_CANDIDATES.symbol, ...COLUMN_CANDIDATES.eventTime, 'ts', 'run_id', 'seq'].filter(
    (name, index, all) => names.has(name) && all.indexOf(name) === index,
  );
  const rest = [...names].filter((name) => !order.includes(name));
  const keys = [...order, ...rest].map((name) => `${quoteIdentifier(name)} NULLS LAST`);
  // The minute of arrival first (ts is ISO-8601 UTC text: its first 16 characters), so each row group spans a
  // few minutes of ts and its min/max statistics let a reader skip it for a window of arrival time.
  return (textTs ? [`substr(${quoteIdentifier('ts')}, 1, 16) NULLS LAST`, ...keys] : keys).join(', ');
}

export type CompactActivities = ReturnType<typeof createCompactActivities>;
