import { isAscii } from 'node:buffer';
import { csvParser, type CsvRow } from './csv';

/** Receives each record: its fields, the byte offset just after it, and its text as written (for a reject). */
export type RecordSink = (record: string[], end: number, raw: string) => void;

/** The part of csv-parse's stream that parses synchronously, with the state the splitter consults. */
interface CsvParseApi {
  parse(
    bytes: Buffer | undefined,
    end: boolean,
    push: (row: CsvRow) => void,
    close: () => void,
  ): (Error & { code?: string }) | undefined;
  /** Whether it is inside a quoted field, having read all but `previousBuf` (it looks a few bytes ahead). */
  state: { quoting: boolean; previousBuf: Buffer | undefined };
  options: { record_delimiter: Buffer[] };
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

function csvParseApi(delimiter: '\n' | '\r\n' | undefined, withBom = false): CsvParseApi {
  const parser = csvParser(withBom, delimiter);
  const api = (parser as unknown as { api?: CsvParseApi }).api;
  if (typeof api?.parse !== 'function' || typeof api.state?.quoting !== 'boolean') {
    throw new Error(
      'csv-parse no longer exposes its parser (api.parse, api.state): see activities/replay/csv-records.ts',
    );
  }
  return api;
}

/**
 * Cuts a replay's CSV bytes into records with the byte offset after each, exactly as csv-parse reads the
 * replay's dialect (`CSV_OPTIONS`), for a fraction of its cost on plain files. A line with no quote
 * character is one record: its text split at commas, its end the byte after its line end. Everything else
 * goes through csv-parse itself: a line with a `"` (quoted fields, embedded line ends, relaxed quotes)
 * and the lines after it until csv-parse stands between records again; a CRLF file's line that ends in a
 * bare LF (csv-parse reads that LF as part of a field); the last line when it has no line end; and a file
 * whose first line ends in a bare CR. The record delimiter is the first line end, as csv-parse discovers
 * it. csv-parse's `info` option (each record's offset) doubled its cost and `raw` is not byte-exact for
 * CRLF: splitting plain lines here makes the replay's parser thread about ten times cheaper.
 */
export class CsvRecordSplitter {
  /** The record delimiter, once known. */
  private delimiter: '\n' | '\r\n' | undefined;
  /** csv-parse for the rest of the stream: the delimiter is a bare CR (or the first line hides it). */
  private permanent = false;
  /** csv-parse parsing a stretch of lines, from the byte `base` of the stream. */
  private slow: { api: CsvParseApi; base: number } | undefined;
  /** Bytes after the last line end seen, waiting for theirs. */
  private pending: Buffer[] = [];
  /** Bytes of the stream before the pending ones. */
  private consumed = 0;
  private failed: Error | undefined;

  /** `withBom`: the stream starts at the file's first byte (csv-parse reads it all, skipping a BOM). */
  constructor(withBom = false) {
    if (withBom) {
      this.permanent = true;
      this.slow = { api: csvParseApi(undefined, true), base: 0 };
    }
  }

  /** Takes the stream's next bytes; records that end in them go to `sink`. Throws csv-parse's error. */
  write(chunk: Buffer, sink: RecordSink): void {
    if (this.failed) throw this.failed;
    if (this.permanent) return this.feed(chunk, sink);
    this.pending.push(chunk);
    const last = chunk.lastIndexOf(LF);
    // A line longer than a chunk waits whole for its end (joined once, when it comes).
    if (last < 0 && (this.delimiter !== undefined || this.slow)) return;
    const bytes = this.pending.length === 1 ? chunk : Buffer.concat(this.pending);
    this.pending = [bytes];
    if (this.delimiter === undefined && !this.slow && this.endsInBareCr(bytes)) {
      this.pending = [];
      this.becomePermanent(this.consumed);
      return this.feed(bytes, sink);
    }
    if (last < 0) return;
    const regionEnd = bytes.length - (chunk.length - last - 1);
    this.lines(bytes, regionEnd, sink);
    this.pending = regionEnd < bytes.length ? [bytes.subarray(regionEnd)] : [];
    this.consumed += regionEnd;
    if (this.permanent && this.pending.length > 0) {
      // csv-parse found a bare CR delimiter within these lines: it takes the rest, from here on.
      const rest = this.pending[0]!;
      this.pending = [];
      this.feed(rest, sink);
    }
  }

  /** The stream has ended: the last records, including a last line without a line end. */
  end(sink: RecordSink): void {
    if (this.failed) throw this.failed;
    const rest = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    if (rest && rest.length > 0) {
      // One line at most: csv-parse reads it as it would (a CRLF file's final CR without LF stays in the field).
      if (!this.slow) this.slow = { api: csvParseApi(this.delimiter), base: this.consumed };
      this.feed(rest, sink);
    }
    if (this.slow) this.endSlow(sink);
  }

  /** Whether the first line end, before any quote character, is a bare CR (csv-parse's Mac delimiter). */
  private endsInBareCr(bytes: Buffer): boolean {
    const cr = bytes.indexOf(CR);
    if (cr < 0 || cr + 1 >= bytes.length) return false;
    const lf = bytes.indexOf(LF);
    return (lf < 0 || cr < lf) && bytes[cr + 1] !== LF;
  }

  private becomePermanent(base: number) {
    this.permanent = true;
    this.slow ??= { api: csvParseApi(undefined), base };
  }

  /** The lines of bytes[0, regionEnd), each ending in LF. */
  private lines(bytes: Buffer, regionEnd: number, sink: RecordSink) {
    const text = isAscii(bytes.subarray(0, regionEnd)) ? bytes.toString('latin1', 0, regionEnd) : undefined;
    const base = this.consumed;
    let quote = bytes.indexOf(QUOTE);
    if (quote < 0 || quote >= regionEnd) quote = regionEnd;
    let at = 0;
    while (at < regionEnd) {
      const lf = text === undefined ? bytes.indexOf(LF, at) : text.indexOf('\n', at);
      if (this.permanent) {
        this.feed(bytes.subarray(at, regionEnd), sink);
        return;
      }
      if (this.slow) {
        this.feed(bytes.subarray(at, lf + 1), sink);
        at = lf + 1;
        if (quote < at) quote = this.nextQuote(bytes, at, regionEnd);
        // Back to plain lines once csv-parse stands between records and the next line has no quote.
        if (at < regionEnd && this.slowAtLineEnd(bytes, lf) && bytes.indexOf(LF, at) < quote) this.endSlow(sink);
        continue;
      }
      if (this.delimiter === undefined) {
        if (quote < lf) {
          this.slow = { api: csvParseApi(undefined), base: base + at };
          continue;
        }
        this.delimiter = lf > at && bytes[lf - 1] === CR ? '\r\n' : '\n';
      }
      let contentEnd = lf;
      if (this.delimiter === '\r\n') {
        // A bare LF in a CRLF file is part of a field to csv-parse: the record goes on past it.
        if (lf === at || bytes[lf - 1] !== CR) {
          this.slow = { api: csvParseApi(this.delimiter), base: base + at };
          continue;
        }
        contentEnd = lf - 1;
      }
      if (quote < lf) {
        this.slow = { api: csvParseApi(this.delimiter), base: base + at };
        continue;
      }
      // skip_empty_lines: a line with nothing before its line end is no record.
      if (contentEnd > at) {
        const line = text === undefined ? bytes.toString('utf8', at, contentEnd) : text.slice(at, contentEnd);
        sink(line.split(','), base + lf + 1, line);
      }
      at = lf + 1;
    }
  }

  private nextQuote(bytes: Buffer, from: number, regionEnd: number): number {
    const quote = bytes.indexOf(QUOTE, from);
    return quote < 0 || quote >= regionEnd ? regionEnd : quote;
  }

  /**
   * Whether csv-parse, fed up to and including the LF at `lf`, stands between records: not inside a quoted
   * field, no quote character in the few bytes it has not read yet (it looks ahead), its delimiter known
   * and ending the line. Ending it there emits the line's record with its exact end.
   */
  private slowAtLineEnd(bytes: Buffer, lf: number): boolean {
    const { api } = this.slow!;
    if (api.state.quoting || (api.state.previousBuf?.includes(QUOTE) ?? false)) return false;
    const delimiter = api.options.record_delimiter;
    if (delimiter.length !== 1) return false;
    const [first, second] = delimiter[0]!;
    if (first === CR && second === undefined) {
      // csv-parse found a bare CR to end records: it reads the rest of the stream.
      this.becomePermanent(0);
      return false;
    }
    return first === LF || (first === CR && second === LF && bytes[lf - 1] === CR);
  }

  /** csv-parse reads these bytes; its records go to `sink` with offsets counted from the stream's start. */
  private feed(bytes: Buffer, sink: RecordSink) {
    const slow = this.slow!;
    const error = slow.api.parse(bytes, false, (row) => sink(row.record, slow.base + row.info.bytes, row.raw), noop);
    if (error) throw (this.failed = error);
  }

  private endSlow(sink: RecordSink) {
    const slow = this.slow!;
    this.slow = undefined;
    const error = slow.api.parse(undefined, true, (row) => sink(row.record, slow.base + row.info.bytes, row.raw), noop);
    if (error) throw (this.failed = error);
    if (this.delimiter === undefined && !this.permanent) {
      const found = slow.api.options.record_delimiter[0]?.toString('latin1');
      if (found === '\n' || found === '\r\n') this.delimiter = found;
    }
  }
}

const noop = () => undefined;
