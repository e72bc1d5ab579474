/**
 * The CSV parser thread of an ordered replay: it parses (csv-parse), converts each record (typed fields or
 * a reject's reason) and encodes its value's own fields, beside the activity's thread, which stamps the
 * envelope (time of sending, run, seq) and sends. One parse at a time, in the order the bytes
 * come: rows keep the file's order (and so every symbol's).
 */
import { parentPort } from 'node:worker_threads';
import { convertForSending, type RowSchema } from '../../lib/rows';
import { csvParser, type CsvParser, type CsvRow, type FromCsvThread, type ParsedBatch, type ToCsvThread } from './csv';

/** Records per message: large enough to cost little per record, small enough to start sending early. */
const BATCH_RECORDS = 4096;

const port = parentPort;
if (!port) throw new Error('activities/replay/csv-thread runs as a worker thread');
const post = (message: FromCsvThread) => port.postMessage(message);

let current: { id: number; parser: CsvParser } | undefined;

/** Converts and encodes the parsed records (`convertForSending`) and posts them in columns. */
function drain(id: number, parser: CsvParser, schema: RowSchema) {
  let rows: CsvRow[] = [];
  const flush = () => {
    if (rows.length === 0) return;
    const count = rows.length;
    const ends = new Float64Array(count);
    const keyEnds = new Uint32Array(count);
    const headEnds = new Uint32Array(count);
    const eventTimes = new Float64Array(count);
    const rejects: ParsedBatch['rejects'] = [];
    let keys = '';
    let heads = '';
    for (let index = 0; index < count; index++) {
      const row = rows[index] as CsvRow;
      ends[index] = row.info.bytes;
      const converted = convertForSending(schema, row.record, row.raw);
      if (converted.ok) {
        keys += converted.key;
        heads += converted.head;
        eventTimes[index] = converted.eventTime ?? Number.NaN;
      } else {
        rejects.push({ index, reason: converted.reason, raw: converted.raw });
        eventTimes[index] = Number.NaN;
      }
      keyEnds[index] = keys.length;
      headEnds[index] = heads.length;
    }
    const batch: ParsedBatch = { ends, keys, keyEnds, heads, headEnds, eventTimes, rejects };
    post({ kind: 'batch', id, batch });
    rows = [];
  };
  let row: CsvRow | null;
  while ((row = parser.read() as CsvRow | null) !== null) {
    rows.push(row);
    if (rows.length >= BATCH_RECORDS) flush();
  }
  flush();
}

port.on('message', (message: ToCsvThread) => {
  if (message.kind === 'start') {
    current?.parser.destroy();
    const { id } = message;
    const parser = csvParser(message.withBom);
    current = { id, parser };
    const { schema } = message;
    parser.on('readable', () => drain(id, parser, schema));
    parser.once('end', () => post({ kind: 'end', id }));
    parser.once('error', (error: Error & { code?: string }) =>
      post({ kind: 'error', id, message: error.message, code: error.code }),
    );
    return;
  }
  if (current?.id !== message.id) return; // a parse the activity has left
  if (message.kind === 'end') {
    current.parser.end();
    return;
  }
  const { bytes } = message;
  current.parser.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  // Parsed (the records are posted on the parser's next 'readable'): the activity may send more.
  post({ kind: 'taken', id: message.id, bytes: bytes.byteLength });
});
