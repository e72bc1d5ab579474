import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ColumnInfo } from '@aws-sdk/client-athena';
import { parse as parseCsv } from 'csv-parse/sync';
import { fromCsvLines, toCsvLine } from './results';

/**
 * Result files kept on local disk for GetQueryResults, each with the byte offset
 * of every CHECKPOINT-th data row: a page reads and parses at most two
 * checkpoints' worth of rows from its file, however large the result, and nothing
 * of a result stays in memory but its offsets. The folder is bounded: beyond
 * `limits` (files, bytes) the least recently used file goes (its result
 * is read back from S3, once, when asked for again); a file a page is reading goes
 * when that read ends. Every file has a name of its own, so a result read back
 * never takes the name of a file still being read.
 */

const CHECKPOINT = 1000;

/** Ends a file stream and waits until its bytes are on disk (or it failed). */
function closed(out: fs.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
/** Bounds of the folder: files and bytes of all kept files (the newest file stays whatever its size). */
export interface SpoolLimits {
  maxFiles: number;
  maxBytes: number;
}
const LIMITS: SpoolLimits = { maxFiles: 50, maxBytes: 2 * 1024 ** 3 };
/** Rows are written in chunks of about this many characters. */
const WRITE_CHUNK = 256 * 1024;

interface SpooledResult {
  file: string;
  columns: ColumnInfo[];
  /** Byte offset of data row k * CHECKPOINT; the last entry is the file's end. */
  offsets: number[];
  rows: number;
}

/** Offsets of row starts in CSV text where values may hold quoted newlines: a scan that tracks quoting. */
class RowScanner {
  private quoted = false;
  private position = 0;
  private rowsSeen = 0;
  readonly offsets: number[] = [];

  constructor(private readonly skipHeader: boolean) {}

  /** Feeds the next bytes of the file. */
  scan(chunk: Buffer): void {
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (byte === 0x22) this.quoted = !this.quoted;
      else if (byte === 0x0a && !this.quoted) this.rowEnded(this.position + index + 1);
    }
    this.position += chunk.length;
  }

  private rowEnded(next: number): void {
    this.rowsSeen++;
    const dataRow = this.rowsSeen - (this.skipHeader ? 1 : 0);
    if (dataRow > 0 && dataRow % CHECKPOINT === 0) this.offsets.push(next);
  }

  /** The data rows seen and the offsets, with the start and the end of the data. */
  finish(dataStart: number): { offsets: number[]; rows: number } {
    return {
      offsets: [dataStart, ...this.offsets, this.position],
      rows: Math.max(0, this.rowsSeen - (this.skipHeader ? 1 : 0)),
    };
  }
}

export class SpoolWriter {
  private readonly out: fs.WriteStream;
  private readonly scanner: RowScanner;
  private written = 0;
  private dataStart: number | undefined;

  constructor(
    readonly file: string,
    private readonly hasHeader: boolean,
    private readonly done: (columns: ColumnInfo[], shape: { offsets: number[]; rows: number }) => void,
  ) {
    this.out = fs.createWriteStream(file);
    this.scanner = new RowScanner(hasHeader);
    if (!hasHeader) this.dataStart = 0;
  }

  /** Appends rows (the header is the first row added when there is one). */
  async add(rows: Iterable<(string | null)[]>): Promise<void> {
    let pending = '';
    const flush = async () => {
      const bytes = Buffer.from(pending, 'utf8');
      pending = '';
      this.scanner.scan(bytes);
      this.written += bytes.length;
      if (!this.out.write(bytes)) await once(this.out, 'drain');
    };
    for (const row of rows) {
      pending += toCsvLine(row);
      if (this.dataStart === undefined) {
        this.dataStart = Buffer.byteLength(pending);
        continue;
      }
      if (pending.length >= WRITE_CHUNK) await flush();
    }
    if (pending !== '') await flush();
  }

  /** Closes the file; it is then the spool's, paged by its checkpoints. */
  async end(columns: ColumnInfo[]): Promise<void> {
    await closed(this.out);
    this.done(columns, this.scanner.finish(this.dataStart ?? this.written));
  }

  /** Closes and removes a file whose result will not be kept. */
  async abandon(): Promise<void> {
    await closed(this.out).catch(() => undefined);
    fs.rmSync(this.file, { force: true });
  }
}

export class ResultSpool {
  private readonly results = new Map<string, SpooledResult>();
  /** Pages reading each file now, and the files evicted while read, removed when their last read ends. */
  private readonly readers = new Map<string, number>();
  private readonly evicted = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly limits = LIMITS,
  ) {
    // Offsets live in memory only: files from an earlier run are read back from S3 when asked for.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }

  private fileFor(id: string): string {
    const name = crypto.createHash('sha256').update(id).digest('hex');
    return path.join(this.dir, `${name}.${crypto.randomUUID()}.csv`);
  }

  has(id: string): boolean {
    return this.results.has(id);
  }

  /** The result's file, for uploading. */
  file(id: string): string | undefined {
    return this.results.get(id)?.file;
  }

  /** A result file written as Athena's CSV, header (when there is one) first, rows as they come. */
  writer(id: string, hasHeader: boolean): SpoolWriter {
    const file = this.fileFor(id);
    return new SpoolWriter(file, hasHeader, (columns, shape) => this.keep(id, { file, columns, ...shape }));
  }

  /** Reads a result file from a stream (S3), with or without a header row. */
  async copy(id: string, columns: ColumnInfo[], hasHeader: boolean, body: Readable): Promise<void> {
    const file = this.fileFor(id);
    const temporary = `${file}.part`;
    const out = fs.createWriteStream(temporary);
    const scanner = new RowScanner(hasHeader);
    let headerEnd: number | undefined = hasHeader ? undefined : 0;
    let seen = 0;
    try {
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        if (headerEnd === undefined) {
          const newline = bytes.indexOf(0x0a);
          if (newline >= 0) headerEnd = seen + newline + 1;
        }
        seen += bytes.length;
        scanner.scan(bytes);
        if (!out.write(bytes)) await once(out, 'drain');
      }
    } finally {
      await closed(out);
    }
    fs.renameSync(temporary, file);
    this.keep(id, { file, columns, ...scanner.finish(headerEnd ?? seen) });
  }

  private keep(id: string, result: SpooledResult): void {
    this.delete(id);
    this.results.set(id, result);
    let bytes = 0;
    for (const entry of this.results.values()) bytes += entry.offsets.at(-1)!;
    for (const [old, entry] of this.results) {
      if (old === id || (this.results.size <= this.limits.maxFiles && bytes <= this.limits.maxBytes)) break;
      bytes -= entry.offsets.at(-1)!;
      this.delete(old);
    }
  }

  /** Removes a file now, or when the pages reading it are done. */
  private remove(file: string): void {
    if (this.readers.has(file)) this.evicted.add(file);
    else fs.rmSync(file, { force: true });
  }

  /** The result's columns and how many data rows it has. */
  shape(id: string): { columns: ColumnInfo[]; rows: number } | undefined {
    const result = this.results.get(id);
    return result && { columns: result.columns, rows: result.rows };
  }

  /** Data rows [first, last) of the result, read from its file between the checkpoints around them. */
  async page(id: string, first: number, last: number): Promise<(string | null)[][]> {
    const result = this.results.get(id);
    if (!result) throw new Error(`result ${id} is not spooled`);
    // Used now: last to go.
    this.results.delete(id);
    this.results.set(id, result);
    const end = Math.min(last, result.rows);
    if (first >= end) return [];
    const from = Math.floor(first / CHECKPOINT);
    const to = Math.min(Math.ceil(end / CHECKPOINT), result.offsets.length - 1);
    const start = result.offsets[from]!;
    const length = result.offsets[to]! - start;
    const { file } = result;
    this.readers.set(file, (this.readers.get(file) ?? 0) + 1);
    try {
      return await this.read(file, start, length, first - from * CHECKPOINT, end - from * CHECKPOINT);
    } finally {
      const left = this.readers.get(file)! - 1;
      if (left > 0) this.readers.set(file, left);
      else {
        this.readers.delete(file);
        if (this.evicted.delete(file)) fs.rmSync(file, { force: true });
      }
    }
  }

  /** Parses the rows [from, to) of the CSV text at [start, start + length) of a file. */
  private async read(file: string, start: number, length: number, from: number, to: number) {
    const handle = await fs.promises.open(file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      // Files this service wrote read the fast way; any other CSV (a result file replaced in S3) csv-parse's way.
      const rows =
        fromCsvLines(buffer.toString('utf8')) ??
        (parseCsv(buffer, {
          cast: (value, context) => (context.quoting || value !== '' ? value : null),
          relax_column_count: true,
        }) as (string | null)[][]);
      return rows.slice(from, to);
    } finally {
      await handle.close();
    }
  }

  delete(id: string): void {
    const result = this.results.get(id);
    this.results.delete(id);
    if (result) this.remove(result.file);
  }
}
