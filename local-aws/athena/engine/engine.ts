import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { canceled, internalError } from './errors';
import { quoteString } from './glue-types';
import { MACRO_SQL } from './macros';
import { ObjectCache } from './object-cache';
import { ParseCache } from './parse-cache';
import { QueryRun } from './query-run';
import type { QueryEngineOptions, QueryOutcome, QueryRequest } from './types';

const positiveInteger = (value: number | undefined) => value === undefined || (Number.isInteger(value) && value > 0);

/** Options are checked once, here: a wrong one names itself and the form expected. */
function validateOptions(options: QueryEngineOptions): void {
  if (!options.cacheDir) throw new Error('QueryEngine option cacheDir: expected a folder path');
  if (!positiveInteger(options.cacheMaxBytes)) {
    throw new Error(
      `QueryEngine option cacheMaxBytes: expected a positive number of bytes, got ${options.cacheMaxBytes}`,
    );
  }
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(options.memoryLimit)) {
    throw new Error(`QueryEngine option memoryLimit: expected a size such as '1GB', got '${options.memoryLimit}'`);
  }
  if (!positiveInteger(options.threads)) {
    throw new Error(`QueryEngine option threads: expected a positive integer, got ${options.threads}`);
  }
  if (!positiveInteger(options.maxConcurrentQueries)) {
    throw new Error(
      `QueryEngine option maxConcurrentQueries: expected a positive integer, got ${options.maxConcurrentQueries}`,
    );
  }
}

const PARSED_STATEMENTS = 256;

interface Waiting {
  caller: string;
  resume: () => void;
  reject: (error: Error) => void;
}

/**
 * Athena's query engine on one sandboxed DuckDB instance. Queries run N at a
 * time, each on its own connection; the rest wait in order. The sandbox is
 * architecture section 5's: limits first, extension autoinstall and autoload
 * off, then reads only under the object cache, no other file or network
 * access, and the configuration locked so user SQL cannot undo any of it.
 */
export class QueryEngine {
  private readonly cache: ObjectCache;
  private readonly instance: Promise<DuckDBInstance>;
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: Waiting[] = [];
  /** Queries running per caller. */
  private readonly runningBy = new Map<string, number>();
  private readonly shutdown = new AbortController();
  /** DuckDB's parse tree of recent user statements by their text: a repeated query skips that round trip. */
  private readonly parsed = new ParseCache(PARSED_STATEMENTS);
  private readonly maxConcurrent: number;
  private running = 0;

  constructor(private readonly options: QueryEngineOptions) {
    validateOptions(options);
    this.maxConcurrent = options.maxConcurrentQueries ?? 2;
    this.cache = new ObjectCache(options.cacheDir, options.cacheMaxBytes);
    this.instance = this.open();
    // A failed start is reported by run(); this only keeps it from being an unhandled rejection.
    this.instance.catch(() => undefined);
  }

  private async open(): Promise<DuckDBInstance> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads),
      memory_limit: this.options.memoryLimit,
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const setup = await instance.connect();
    try {
      await setup.run(MACRO_SQL);
      await setup.run(
        [
          // Athena's session zone is UTC; Trino sorts NULLs last in both directions.
          "SET GLOBAL TimeZone = 'UTC'",
          "SET GLOBAL default_null_order = 'nulls_last'",
          // No spilling: a query over the memory limit fails (EXCEEDED_MEMORY_LIMIT) instead of filling the disk.
          "SET GLOBAL temp_directory = ''",
          `SET allowed_directories = [${quoteString(`${this.cache.root}/`)}]`,
          'SET enable_external_access = false',
          'SET lock_configuration = true',
        ].join('; '),
      );
    } finally {
      setup.closeSync();
    }
    return instance;
  }

  /** Runs one query; waits for a free slot first. */
  async run(request: QueryRequest): Promise<QueryOutcome> {
    if (this.shutdown.signal.aborted) throw internalError('The local Athena engine is closed');
    const caller = request.caller ?? '';
    await this.acquire(caller, request.signal);
    request.onStart?.();
    let connection: DuckDBConnection | undefined;
    try {
      const instance = await this.instance.catch((error: unknown) => {
        throw internalError(`The local Athena engine could not start: ${(error as Error).message}`);
      });
      connection = this.idle.pop() ?? (await instance.connect());
      const run = new QueryRun(
        {
          connection,
          cache: this.cache,
          parsed: this.parsed,
          memoryLimit: this.options.memoryLimit,
          shutdown: this.shutdown.signal,
          logger: this.options.logger,
        },
        request,
      );
      const outcome = await run.run();
      this.options.logger?.debug(
        { engineMs: outcome.engineMs, dataScannedBytes: outcome.dataScannedBytes, rows: outcome.rowCount },
        'athena query answered',
      );
      return outcome;
    } finally {
      if (connection) this.idle.push(connection);
      this.release(caller);
    }
  }

  /**
   * A caller's fair share: with several slots, no caller holds them all (one stays for the
   * others), and a freed slot goes to the waiting caller running the fewest queries (the
   * longest waiting among equals).
   */
  private mayStart(caller: string): boolean {
    const share = Math.max(1, this.maxConcurrent - 1);
    return this.running < this.maxConcurrent && (this.runningBy.get(caller) ?? 0) < share;
  }

  private start(caller: string): void {
    this.running++;
    this.runningBy.set(caller, (this.runningBy.get(caller) ?? 0) + 1);
  }

  private async acquire(caller: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw canceled();
    // Queries that may start never wait (a release starts them): so a caller that may, starts.
    if (this.mayStart(caller)) {
      this.start(caller);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        caller,
        resume: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(canceled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Frees the caller's slot and starts whichever waiting queries may now start. */
  private release(caller: string): void {
    this.running--;
    const left = (this.runningBy.get(caller) ?? 1) - 1;
    if (left > 0) this.runningBy.set(caller, left);
    else this.runningBy.delete(caller);
    for (;;) {
      const ready = this.waiting.filter((entry) => this.mayStart(entry.caller));
      if (ready.length === 0) return;
      const next = ready.reduce((best, entry) =>
        (this.runningBy.get(entry.caller) ?? 0) < (this.runningBy.get(best.caller) ?? 0) ? entry : best,
      );
      this.waiting.splice(this.waiting.indexOf(next), 1);
      this.start(next.caller);
      next.resume();
    }
  }

  /** Stops running queries, refuses waiting and new ones, and closes DuckDB. */
  async close(): Promise<void> {
    this.shutdown.abort();
    for (const entry of this.waiting.splice(0)) entry.reject(internalError('The local Athena engine is closed'));
    while (this.running > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const instance = await this.instance.catch(() => undefined);
    for (const connection of this.idle.splice(0)) connection.closeSync();
    instance?.closeSync();
  }
}
