/**
 * The CSV parser thread of an ordered replay: csv-parse is most of a replay's CPU, so it runs here, beside
 * the activity's thread, which converts, encodes and sends. One parse at a time, in the order the bytes
 * come: rows keep the file's order (and so every symbol's).
 */
import { parentPort } from 'node:worker_threads';
import { csvParser, type CsvParser, type CsvRow, type FromCsvThread, type ToCsvThread } from './csv';

/** Records per message: large enough to cost little per record, small enough to start sending early. */
const BATCH_RECORDS = 4096;

const port = parentPort;
if (!port) throw new Error('activities/replay/csv-thread runs as a worker thread');
const post = (message: FromCsvThread) => port.postMessage(message);

let current: { id: number; parser: CsvParser } | undefined;

function drain(id: number, parser: CsvParser) {
  let rows: CsvRow[] = [];
  const flush = () => {
    if (rows.length === 0) return;
    const fields: string[] = [];
    const widths = new Uint32Array(rows.length);
    const rawEnds = new Uint32Array(rows.length);
    const ends = new Float64Array(rows.length);
    let raw = '';
    rows.forEach((row, index) => {
      for (const field of row.record) fields.push(field);
      widths[index] = row.record.length;
      raw += row.raw;
      rawEnds[index] = raw.length;
      ends[index] = row.info.bytes;
    });
    post({ kind: 'batch', id, batch: { fields, widths, raw, rawEnds, ends } });
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
    parser.on('readable', () => drain(id, parser));
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
