/**
 * The CSV parser thread of an ordered replay: it cuts the bytes into records (`CsvRecordSplitter`: plain
 * lines split here, anything quoted by csv-parse), converts each record (typed fields or a reject's reason)
 * and encodes its value's own fields, beside the activity's thread, which stamps the envelope (time of
 * sending, run, seq) and sends. One parse at a time, in the order the bytes come: rows keep the file's
 * order (and so every symbol's).
 */
import { parentPort } from 'node:worker_threads';
import { convertForSending, type RowSchema } from '../../lib/rows';
import type { FromCsvThread, ParsedBatch, ToCsvThread } from './csv';
import { CsvRecordSplitter, type RecordSink } from './csv-records';

/** Records per message: large enough to cost little per record, small enough to start sending early. */
const BATCH_RECORDS = 4096;

const port = parentPort;
if (!port) throw new Error('activities/replay/csv-thread runs as a worker thread');
const post = (message: FromCsvThread) => port.postMessage(message);

/** Converts and encodes records (`convertForSending`) as they come, and posts them in columns. */
class BatchWriter {
  private ends: number[] = [];
  private keyEnds: number[] = [];
  private headEnds: number[] = [];
  private eventTimes: number[] = [];
  private rejects: ParsedBatch['rejects'] = [];
  private keys = '';
  private heads = '';

  constructor(
    private readonly id: number,
    private readonly schema: RowSchema,
  ) {}

  readonly add: RecordSink = (record, end, raw) => {
    const index = this.ends.length;
    this.ends.push(end);
    const converted = convertForSending(this.schema, record, raw);
    if (converted.ok) {
      this.keys += converted.key;
      this.heads += converted.head;
      this.eventTimes.push(converted.eventTime ?? Number.NaN);
    } else {
      this.rejects.push({ index, reason: converted.reason, raw: converted.raw });
      this.eventTimes.push(Number.NaN);
    }
    this.keyEnds.push(this.keys.length);
    this.headEnds.push(this.heads.length);
    if (index + 1 >= BATCH_RECORDS) this.flush();
  };

  flush() {
    if (this.ends.length === 0) return;
    const batch: ParsedBatch = {
      ends: Float64Array.from(this.ends),
      keys: this.keys,
      keyEnds: Uint32Array.from(this.keyEnds),
      heads: this.heads,
      headEnds: Uint32Array.from(this.headEnds),
      eventTimes: Float64Array.from(this.eventTimes),
      rejects: this.rejects,
    };
    post({ kind: 'batch', id: this.id, batch });
    this.ends = [];
    this.keyEnds = [];
    this.headEnds = [];
    this.eventTimes = [];
    this.rejects = [];
    this.keys = '';
    this.heads = '';
  }
}

let current: { id: number; splitter: CsvRecordSplitter; writer: BatchWriter; failed: boolean } | undefined;

/** Runs one step of the parse; a malformed CSV posts csv-parse's error after the records before it. */
function step(parse: NonNullable<typeof current>, run: () => void): boolean {
  if (parse.failed) return false;
  try {
    run();
    return true;
  } catch (error) {
    parse.failed = true;
    parse.writer.flush();
    const { message, code } = error as Error & { code?: string };
    post({ kind: 'error', id: parse.id, message, code });
    return false;
  }
}

port.on('message', (message: ToCsvThread) => {
  if (message.kind === 'start') {
    const { id, schema } = message;
    current = {
      id,
      splitter: new CsvRecordSplitter(message.withBom),
      writer: new BatchWriter(id, schema),
      failed: false,
    };
    return;
  }
  const parse = current;
  if (parse?.id !== message.id) return; // a parse the activity has left
  if (message.kind === 'end') {
    if (step(parse, () => parse.splitter.end(parse.writer.add))) {
      parse.writer.flush();
      post({ kind: 'end', id: parse.id });
    }
    return;
  }
  const { bytes } = message;
  const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Each chunk's records are posted as soon as it is parsed, so sending starts early.
  if (step(parse, () => parse.splitter.write(chunk, parse.writer.add))) parse.writer.flush();
  // Parsed: the activity may send more.
  post({ kind: 'taken', id: parse.id, bytes: bytes.byteLength });
});
