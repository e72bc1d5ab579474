import path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { RowSchema } from '../../lib/rows';
import type { FromCsvThread, ParsedBatch, ToCsvThread } from './csv';

/**
 * The source is paused while this many parsed batches wait for the sender, or this many bytes wait for the
 * thread: memory stays bounded however large the file and however slow the sending.
 */
const MAX_AHEAD = 8;
const MAX_UNPARSED_BYTES = 4 << 20;

/**
 * The thread runs this module's sibling, compiled or not: under tsx (how the workers run) the thread
 * registers tsx itself, since Node 20 does not pass `--import` loaders on to worker threads.
 */
function startThread(): Worker {
  const extension = path.extname(__filename);
  const entry = path.join(__dirname, `csv-thread${extension}`);
  if (extension !== '.ts') return new Worker(entry);
  return new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(entry)});`, {
    eval: true,
  });
}

/** An idle reader's thread ends after this long: a thread starts in about 0.1–0.4 s, chunks can be 1 s. */
const IDLE_MS = 60_000;

/**
 * A CSV parser on a thread of its own: `batches` parses and converts one source stream at a time and
 * yields its records in order; `close` ends the thread. The thread never keeps the process alive.
 */
export class CsvReader {
  private readonly thread = startThread();
  private parses = 0;
  private exited: Error | undefined;
  private readonly listeners = new Set<(message: FromCsvThread | Error) => void>();

  constructor() {
    this.thread.on('message', (message: FromCsvThread) => this.listeners.forEach((listener) => listener(message)));
    const fail = (error: Error) => {
      this.exited ??= error;
      this.listeners.forEach((listener) => listener(error));
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`the CSV parser thread exited (code ${code})`)));
    this.thread.unref();
  }

  get usable(): boolean {
    return this.exited === undefined;
  }

  private post(message: ToCsvThread, transfer?: ArrayBuffer[]) {
    this.thread.postMessage(message, transfer);
  }

  /**
   * The stream's records, parsed on the thread and converted there by `schema` (keys, value heads, event
   * times, rejects with their reasons). A malformed CSV fails with csv-parse's error (its CSV_*
   * code kept); a failed read fails with the stream's error, after the records before it.
   */
  async *batches(stream: Readable, schema: RowSchema, withBom = false): AsyncGenerator<ParsedBatch> {
    if (this.exited) throw this.exited;
    const id = ++this.parses;
    const ready: ParsedBatch[] = [];
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    let unparsed = 0;
    const throttle = () => {
      if (ready.length >= MAX_AHEAD || unparsed >= MAX_UNPARSED_BYTES) stream.pause();
      else if (stream.isPaused() && ready.length < MAX_AHEAD / 2 && unparsed < MAX_UNPARSED_BYTES / 2) stream.resume();
    };
    const listener = (message: FromCsvThread | Error) => {
      if (message instanceof Error) failure ??= message;
      else if (message.id !== id) return;
      else if (message.kind === 'batch') ready.push(message.batch);
      else if (message.kind === 'taken') unparsed -= message.bytes;
      else if (message.kind === 'end') ended = true;
      else failure ??= Object.assign(new Error(message.message), { code: message.code });
      throttle();
      notify();
    };
    this.listeners.add(listener);
    const onData = (chunk: Buffer) => {
      // A copy the thread owns: a stream's chunks may share one pooled buffer.
      const bytes = new Uint8Array(chunk);
      unparsed += bytes.byteLength;
      this.post({ kind: 'bytes', id, bytes }, [bytes.buffer]);
      throttle();
    };
    const onEnd = () => this.post({ kind: 'end', id });
    const onError = (error: Error) => {
      failure ??= error;
      notify();
    };
    // The plan's schema only: a plan carries more than the thread needs.
    const { columns, fields, numeric, symbolIndex, timestampIndex } = schema;
    this.post({ kind: 'start', id, withBom, schema: { columns, fields, numeric, symbolIndex, timestampIndex } });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    try {
      for (;;) {
        const batch = ready.shift();
        if (batch) {
          throttle();
          yield batch;
        } else if (failure) throw failure;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.exited ??= new Error('the CSV parser thread is closed');
    await this.thread.terminate();
  }
}

/** Readers kept between replay chunks, one per chunk running at once, each ended after a minute idle. */
export class CsvReaderPool {
  private readonly idle = new Map<CsvReader, NodeJS.Timeout>();

  acquire(): CsvReader {
    for (const [reader, timer] of this.idle) {
      clearTimeout(timer);
      this.idle.delete(reader);
      if (reader.usable) return reader;
      void reader.close();
    }
    return new CsvReader();
  }

  release(reader: CsvReader): void {
    if (!reader.usable) {
      void reader.close();
      return;
    }
    const timer = setTimeout(() => {
      this.idle.delete(reader);
      void reader.close();
    }, IDLE_MS);
    timer.unref();
    this.idle.set(reader, timer);
  }
}
