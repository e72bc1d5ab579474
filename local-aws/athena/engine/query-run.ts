import type { Partition, Table } from '@aws-sdk/client-glue';
import type { DuckDBConnection, DuckDBMaterializedResult, DuckDBValue } from '@duckdb/node-api';
import type { Logger } from 'pino';
import {
  arrayField,
  clone,
  conjunction,
  descendants,
  isObject,
  objectField,
  objectsIn,
  type JsonObject,
  parseJsonLossless,
  queryLocation,
  selectStatement,
  stringifyJsonLossless,
} from './ast';
import { mapLimit, parseS3Location, readableObjects, resolveTable, tableName } from './catalog';
import type { DialectContext } from './dialect';
import { classifyDuckDbError } from './duckdb-errors';
import type { ParseCache } from './parse-cache';
import {
  canceled,
  exceededPartitionLimit,
  exceededTimeLimit,
  injectedProjectionConstraint,
  internalError,
  notSupported,
  QueryFailure,
  type SqlPosition,
  statementNotSupported,
  syntaxError,
} from './errors';
import { quoteString } from './glue-types';
import { classifyObjectError, type LakeObject, type ObjectCache, s3Uri } from './object-cache';
import {
  type KeyProjection,
  keyValues,
  MAX_PROJECTED_PARTITIONS,
  partitionLocation,
  tableProjection,
  type TableProjection,
} from './projection';
import { type PartitionKey, partitionColumnTest, pruningPredicates, pruningQuery } from './pruning';
import { unusedWithColumnRefs } from './cte-columns';
import { type ChunkStats, dataColumnOf, type RowGroupStats, rowGroupQuery, rowGroupTerms } from './row-groups';
import { renderValue, resultColumn } from './render';
import {
  type AnalyzedQuery,
  analyzeStatement,
  assertEngineRelationsOnly,
  MAX_VIEW_DEPTH,
  nameResultColumns,
  qualifyColumnRefs,
  spliceTableSource,
  UNNAMED_COLUMN,
} from './rewrite';
import type { TableReference } from './table-reference';
import {
  byteToCharOffset,
  classifyStatement,
  type EditedSql,
  normalizeTrinoSql,
  parseUtilityStatement,
  positionAt,
  type Token,
  tokenize,
} from './sql-text';
import {
  type FileProfile,
  partitionFormat,
  type PartitionScan,
  type ScanFile,
  tableLayout,
  type TableLayout,
  tableSourceSql,
} from './table-source';
import type { QueryOutcome, QueryRequest, StoredObject, TableCatalog } from './types';
import { baseTableNames, type LoadedView, removePushedFilters, viewKey } from './views';
import { decodePrestoView, isVirtualView } from '../../../lib/glue-view';
import { runUtilityStatement } from './utility';

/** S3 requests one query keeps in flight (listings, downloads). */
const S3_CONCURRENCY = 8;
/** More projected partitions than this are found in one listing of the table's root, not one listing each. */
const PROJECTED_LISTINGS = 32;
const INTERRUPT_REPEAT_MS = 100;

export interface RunDependencies {
  connection: DuckDBConnection;
  cache: ObjectCache;
  /** json_serialize_sql's answers for user statements, by normalized text. */
  parsed: ParseCache;
  memoryLimit: string;
  /** Aborted when the engine closes. */
  shutdown: AbortSignal;
  logger?: Logger;
}

/** A statement's parse tree as json_deserialize_sql takes it. */
const serializedStatement = (statement: JsonObject) => stringifyJsonLossless({ error: false, statements: [statement] });

/** One table reference of the query, resolved and with the partitions it reads. */
interface TableScan {
  ref: TableReference;
  table: Table;
  layout: TableLayout;
  /** Partition projection: the partitions are computed, and Glue's ignored. */
  projection: TableProjection | undefined;
  partitions: Partition[];
  scans: PartitionScan[];
}

/** Whether the statement's result has a `*` (of a SELECT, or of either side of a set operation). */
function outputHasStar(node: JsonObject): boolean {
  if (node.type === 'SET_OPERATION_NODE') {
    return [node.left, node.right, ...arrayField(node, 'children')].some(
      (side) => isObject(side) && outputHasStar(side),
    );
  }
  return arrayField(node, 'select_list').some((item) => isObject(item) && item.class === 'STAR');
}

/** One query, from its text to Athena's outcome, on one DuckDB connection. */
export class QueryRun {
  private readonly startedAt = Date.now();
  private readonly deadline = new AbortController();
  private readonly signal: AbortSignal;
  private readonly objectsByFile = new Map<string, LakeObject>();
  private readonly listings = new Map<string, Promise<StoredObject[]>>();
  private normalized: EditedSql | undefined;
  private columnRefs: JsonObject[] = [];
  private planningMs = 0;

  constructor(
    private readonly deps: RunDependencies,
    private readonly request: QueryRequest,
  ) {
    this.signal = AbortSignal.any([request.signal, this.deadline.signal, deps.shutdown]);
  }

  async run(): Promise<QueryOutcome> {
    const timer = setTimeout(() => this.deadline.abort(), this.request.timeoutMs);
    try {
      return await this.runStatement();
    } catch (error) {
      throw this.failure(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private failure(error: unknown): QueryFailure {
    if (this.request.signal.aborted) return canceled();
    if (this.deadline.signal.aborted) return exceededTimeLimit(this.request.timeoutMs);
    if (this.deps.shutdown.aborted) return internalError('The local Athena engine was shut down during the query');
    if (error instanceof QueryFailure) return error;
    return classifyDuckDbError(error, {
      memoryLimit: this.deps.memoryLimit,
      cacheRoot: this.deps.cache.root,
      objectFor: (file) => {
        const object = this.objectsByFile.get(file);
        return object && s3Uri(object);
      },
      columnPosition: (name) => this.columnPosition(name),
    });
  }

  private elapsed(): number {
    return Date.now() - this.startedAt;
  }

  private async runStatement(): Promise<QueryOutcome> {
    const { sql } = this.request;
    const tokens = tokenize(sql);
    const { kind, word } = classifyStatement(tokens);
    const expecting = "Expecting: 'SELECT', 'WITH', 'VALUES', 'SHOW', 'DESCRIBE'";
    if (kind === 'empty') throw syntaxError(`mismatched input '<EOF>'. ${expecting}`, { line: 1, column: 1 });
    if (kind === 'unknown') {
      throw syntaxError(
        `mismatched input '${sql.slice(word!.start, word!.end)}'. ${expecting}`,
        positionAt(sql, word!.start),
      );
    }
    if (kind === 'unsupported') throw statementNotSupported(word!.value.toUpperCase(), positionAt(sql, word!.start));
    this.requireSingleStatement(tokens);
    if (kind === 'utility') {
      const result = runUtilityStatement(parseUtilityStatement(sql, tokens), {
        sql,
        database: this.request.database,
        catalog: this.request.catalog,
      });
      const ms = this.elapsed();
      return { ...result, rowCount: result.rows.length, dataScannedBytes: 0, planningMs: ms, engineMs: ms };
    }
    return this.runQuery();
  }

  /** Athena runs one statement per query; a trailing semicolon is allowed. */
  private requireSingleStatement(tokens: Token[]): void {
    const separator = tokens.findIndex((token) => token.kind === 'symbol' && token.value === ';');
    const after = separator < 0 ? [] : tokens.slice(separator + 1).filter((token) => token.value !== ';');
    if (after.length > 0) {
      throw notSupported('Only one SQL statement is allowed per query', positionAt(this.request.sql, after[0]!.start));
    }
  }

  private async runQuery(): Promise<QueryOutcome> {
    this.normalized = normalizeTrinoSql(this.request.sql);
    const statement = await this.parse(this.normalized.sql, true);
    const root = statement.node as JsonObject;
    const views = new Map<string, LoadedView>();
    await this.loadViews(root, this.request.database, views, 0);
    const analysis = analyzeStatement(root, this.dialectContext(), views);
    this.columnRefs = analysis.columnRefs;
    nameResultColumns(root);
    const tables = analysis.tables.map((ref) => this.resolve(ref));
    qualifyColumnRefs(analysis.columnRefs, analysis.tables, this.request.database);
    for (const table of tables) table.partitions = await this.prune(table, tables);
    for (const table of tables) table.scans = await this.list(table);
    this.planningMs = this.elapsed();
    const dataScannedBytes = await this.fetch(tables, analysis, outputHasStar(root), unusedWithColumnRefs(root));
    removePushedFilters(analysis.pushedFilters);
    for (const table of tables) {
      const source = await this.parse(tableSourceSql(table.layout, table.scans), false);
      spliceTableSource(table.ref, source.node as JsonObject);
    }
    assertEngineRelationsOnly(root);
    // Turned back into SQL and run in one round trip.
    const result = await this.execute('SELECT * FROM query(json_deserialize_sql($1::VARCHAR))', [
      serializedStatement(statement),
    ]);
    return this.outcome(result, analysis, dataScannedBytes);
  }

  /**
   * The Glue views the query names (and the views they name), parsed. A name that is no view, or that the
   * caller may not read, is left for resolution to report.
   */
  private async loadViews(
    root: JsonObject,
    schema: string,
    views: Map<string, LoadedView>,
    depth: number,
  ): Promise<void> {
    for (const name of baseTableNames(root)) {
      if (name.catalog !== '' && name.catalog.toLowerCase() !== 'awsdatacatalog') continue;
      const database = (name.schema || schema).toLowerCase();
      const key = viewKey(database, name.table);
      if (views.has(key)) continue;
      let found: ReturnType<TableCatalog['getTable']>;
      try {
        found = this.request.catalog.getTable(database, name.table);
      } catch {
        continue;
      }
      if ('missing' in found || !isVirtualView(found.table)) continue;
      const view = decodePrestoView(found.table);
      if (!view) {
        throw notSupported(`Table '${key}' is a VIRTUAL_VIEW whose ViewOriginalText is not a Presto view`);
      }
      const result = await this.execute('SELECT json_serialize_sql($1::VARCHAR)', [
        normalizeTrinoSql(view.originalSql).sql,
      ]);
      const parsed = parseJsonLossless(String((await result.getRows())[0]![0]));
      const statements = isObject(parsed) && parsed.error !== true ? arrayField(parsed, 'statements') : [];
      const node = statements.length === 1 && isObject(statements[0]) ? objectField(statements[0], 'node') : undefined;
      if (!node) throw notSupported(`View '${key}' is stale or in error: its query is not one SELECT`);
      views.set(key, { schema: view.schema.toLowerCase(), node });
      if (depth < MAX_VIEW_DEPTH) await this.loadViews(node, view.schema, views, depth + 1);
    }
  }

  private dialectContext(): DialectContext {
    return {
      now: new Date(this.startedAt),
      database: this.request.database,
      invoker: this.request.invoker ?? '',
      position: (node) => this.position(queryLocation(node)),
    };
  }

  /** A byte offset DuckDB reported in the normalized SQL, as Trino's line:column in the user's SQL. */
  private position(byteOffset: number | undefined): SqlPosition | undefined {
    if (byteOffset === undefined || !this.normalized) return undefined;
    const offset = this.normalized.toOriginal(byteToCharOffset(this.normalized.sql, byteOffset));
    return positionAt(this.request.sql, offset);
  }

  private columnPosition(name: string): SqlPosition | undefined {
    const lower = name.toLowerCase();
    const ref = this.columnRefs.find((node) => {
      const names = arrayField(node, 'column_names');
      return String(names.at(-1)).toLowerCase() === lower || names.map(String).join('.').toLowerCase() === lower;
    });
    return ref && this.position(queryLocation(ref));
  }

  /** DuckDB's parse tree of one SELECT statement; user SQL that does not parse is a SYNTAX_ERROR. */
  private async parse(sql: string, fromUser: boolean): Promise<JsonObject> {
    const cached = fromUser ? this.deps.parsed.get(sql) : undefined;
    let text = cached;
    if (text === undefined) {
      const result = await this.execute('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
      text = String((await result.getRows())[0]![0]);
    }
    const parsed = parseJsonLossless(text);
    if (!isObject(parsed)) throw internalError('json_serialize_sql answered something other than an object');
    if (parsed.error === true) {
      const message = String(parsed.error_message ?? 'syntax error');
      if (!fromUser) throw internalError(`The engine wrote SQL DuckDB cannot parse: ${message}`);
      if (/Only SELECT statements/i.test(message)) throw statementNotSupported('Non-query');
      throw syntaxError(message, this.position(Number(parsed.position ?? 0)));
    }
    const statements = arrayField(parsed, 'statements');
    if (statements.length !== 1 || !isObject(statements[0])) {
      throw notSupported('Only one SQL statement is allowed per query');
    }
    if (fromUser && cached === undefined) this.deps.parsed.set(sql, text);
    return statements[0];
  }

  /**
   * Runs SQL on the query's connection; aborting the query interrupts it. An interrupt that lands just
   * before DuckDB starts the statement is lost, so it is repeated until the statement ends.
   */
  private async execute(sql: string, values?: DuckDBValue[]): Promise<DuckDBMaterializedResult> {
    if (this.signal.aborted) throw canceled();
    let repeat: NodeJS.Timeout | undefined;
    const interrupt = () => {
      this.deps.connection.interrupt();
      repeat ??= setInterval(() => this.deps.connection.interrupt(), INTERRUPT_REPEAT_MS);
    };
    this.signal.addEventListener('abort', interrupt, { once: true });
    try {
      return await this.deps.connection.run(sql, values);
    } finally {
      this.signal.removeEventListener('abort', interrupt);
      clearInterval(repeat);
    }
  }

  private resolve(ref: TableReference): TableScan {
    const name = tableName({ catalog: ref.catalog, schema: ref.schema, table: ref.table }, this.request.database);
    const { table, partitions } = resolveTable(this.request.catalog, name, this.position(ref.location));
    const projection = tableProjection(table);
    return { ref, table, layout: tableLayout(table), projection, partitions, scans: [] };
  }

  /** Whether a FROM item other than this table may have a column of that name (unknown items may). */
  private otherItemHasColumn(scan: TableScan, tables: TableScan[], column: string): boolean {
    return (scan.ref.from?.items ?? []).some((item) => {
      if (item === scan.ref.node) return false;
      const other = tables.find((candidate) => candidate.ref.node === item);
      if (!other) return true;
      return [...other.layout.columns, ...other.layout.partitionKeys].some((c) => c.name === column);
    });
  }

  private async prune(scan: TableScan, tables: TableScan[]): Promise<Partition[]> {
    const keys = scan.layout.partitionKeys;
    if (keys.length === 0 || (!scan.projection && scan.partitions.length === 0)) return scan.partitions;
    const test = partitionColumnTest(scan.ref, keys, (column) => this.otherItemHasColumn(scan, tables, column));
    const predicates = pruningPredicates(scan.ref, test);
    if (scan.projection) return this.project(scan, scan.projection, predicates);
    const values = scan.partitions.map((partition) => partition.Values ?? []);
    const chosen = new Set(await this.matching(scan, keys, values, predicates));
    return scan.partitions.filter((_, index) => chosen.has(index));
  }

  /**
   * The indexes of the rows of partition values (one per key of `keys`) that satisfy every predicate,
   * evaluated by DuckDB; all of them when there is no predicate, or when the evaluation fails.
   */
  private async matching(
    scan: TableScan,
    keys: PartitionKey[],
    rows: string[][],
    predicates: JsonObject[],
  ): Promise<number[]> {
    const all = rows.map((_, index) => index);
    if (predicates.length === 0 || rows.length === 0) return all;
    const condition = selectStatement([conjunction(predicates.map((predicate) => clone(predicate)))]);
    try {
      // The condition turned back into SQL (`SELECT <condition>` without its first word) and the query over
      // the partition values run in one round trip.
      const result = await this.execute(
        "SELECT * FROM query($1::VARCHAR || substr(json_deserialize_sql($2::VARCHAR), length('SELECT ') + 1))",
        [pruningQuery(scan.ref.alias, keys, rows, ''), serializedStatement(condition)],
      );
      return (await result.getRows()).map((row) => Number(row[0]));
    } catch (error) {
      if (this.signal.aborted) throw error;
      // Reading every partition is always correct; the query itself will report what is wrong.
      this.deps.logger?.warn({ err: error, table: scan.ref.table }, 'partition pruning failed; reading all partitions');
      return all;
    }
  }

  /**
   * Partition projection: each key's values from the table's properties (an injected key's from the
   * WHERE clause), pruned key by key with the predicates on that key alone, then combined and pruned
   * with the predicates over several keys; each partition located by the projection's template.
   */
  private async project(scan: TableScan, projection: TableProjection, predicates: JsonObject[]): Promise<Partition[]> {
    const keys = scan.layout.partitionKeys;
    const keysOf = (term: JsonObject) =>
      new Set(
        [...descendants(term)]
          .filter((node) => node.class === 'COLUMN_REF')
          .flatMap((node) => arrayField(node, 'column_names').map((name) => String(name).toLowerCase())),
      );
    const perKey: string[][] = [];
    for (const [index, key] of projection.keys.entries()) {
      const own = predicates.filter((term) => {
        const names = keysOf(term);
        return names.size === 1 && names.has(key.key);
      });
      const values = key.kind === 'injected' ? injectedValues(key, own) : keyValues(key, new Date(this.startedAt));
      const chosen = await this.matching(
        scan,
        [keys[index]!],
        values.map((value) => [value]),
        own,
      );
      perKey.push(chosen.map((row) => values[row]!));
    }
    const count = perKey.reduce((product, values) => product * values.length, 1);
    if (count > MAX_PROJECTED_PARTITIONS) {
      throw exceededPartitionLimit(
        `Query over table '${this.request.database}.${scan.ref.table}' can potentially read more than ${MAX_PROJECTED_PARTITIONS} partitions`,
      );
    }
    let rows: string[][] = [[]];
    for (const values of perKey) rows = rows.flatMap((row) => values.map((value) => [...row, value]));
    const spanning = predicates.filter((term) => keysOf(term).size > 1);
    const chosen = await this.matching(scan, keys, rows, spanning);
    return chosen.map((index) => {
      const values = rows[index]!;
      return {
        Values: values,
        StorageDescriptor: { ...scan.table.StorageDescriptor, Location: partitionLocation(projection, values) },
      };
    });
  }

  private listing(bucket: string, prefix: string): Promise<StoredObject[]> {
    const id = `${bucket}/${prefix}`;
    let listing = this.listings.get(id);
    if (!listing) {
      listing = this.request.objects.list(bucket, prefix, this.signal);
      this.listings.set(id, listing);
    }
    return listing;
  }

  /** The readable objects under each chosen partition's location (the table's, when unpartitioned). */
  private async list(scan: TableScan): Promise<PartitionScan[]> {
    const tableLocation = scan.table.StorageDescriptor?.Location ?? '';
    const units =
      scan.layout.partitionKeys.length === 0
        ? [{ values: [] as string[], location: tableLocation, format: scan.layout.format }]
        : scan.partitions.map((partition) => ({
            values: partition.Values ?? [],
            location: partition.StorageDescriptor?.Location ?? '',
            format: partitionFormat(scan.table, partition.StorageDescriptor),
          }));
    // Many projected partitions: one listing of what the partitions' locations share, not one listing each.
    const root =
      scan.projection && units.length > PROJECTED_LISTINGS
        ? parseS3Location(projectionRoot(scan.projection))
        : undefined;
    return mapLimit(units, S3_CONCURRENCY, async ({ values, location, format }) => {
      const parsed = parseS3Location(location);
      if (!parsed) {
        throw notSupported(`Table '${scan.ref.table}' has a location that is not in S3: '${location}'`);
      }
      const listed = root?.bucket === parsed.bucket && parsed.prefix.startsWith(root.prefix) ? root : parsed;
      let objects: StoredObject[];
      try {
        objects = await this.listing(listed.bucket, listed.prefix);
      } catch (error) {
        throw classifyObjectError(error, { bucket: listed.bucket, key: listed.prefix, size: 0, etag: '' });
      }
      if (listed !== parsed) objects = objectsUnder(objects, parsed.prefix);
      const files = readableObjects(objects, parsed.prefix).map((object): ScanFile => ({
        file: '',
        object: { ...object, bucket: parsed.bucket },
        format,
      }));
      return { values, files };
    });
  }

  /**
   * Downloads what the cache lacks, learns the files' keys, and counts the bytes the query reads: a text
   * file whole, a Parquet file as Athena counts it, only the column chunks of the columns the query names
   * and the rest of the file that is not column data (footer, headers). A `*` whose columns reach the result
   * reads every column; one inside a subquery or CTE reads only those the query goes on to name, as Trino
   * prunes the columns nothing uses; so does a column a view's select list only passes through.
   */
  private async fetch(
    tables: TableScan[],
    analysis: AnalyzedQuery,
    everyColumn: boolean,
    unusedRefs: ReadonlySet<JsonObject>,
  ): Promise<number> {
    const files = tables.flatMap((table) => table.scans.flatMap((scan) => scan.files));
    await mapLimit(files, S3_CONCURRENCY, async (file) => {
      const { file: path } = await this.deps.cache.fetch(this.request.objects, file.object, this.signal);
      file.file = path;
      this.objectsByFile.set(path, file.object);
    });
    for (const table of tables) await this.profile(table);
    const parquet = files.filter((file) => file.format === 'parquet');
    const text = files.filter((file) => file.format !== 'parquet');
    const textBytes = text.reduce((total, file) => total + file.object.size, 0);
    if (parquet.length === 0) return textBytes;
    // A view's pass-through columns count only where the query over it names them (as Trino prunes them);
    // so do the columns only a WITH query's unused column is computed from.
    const named = new Set(
      analysis.columnRefs
        .filter((node) => !analysis.viewPassThroughRefs.has(node) && !unusedRefs.has(node))
        .flatMap((node) => arrayField(node, 'column_names').map((name) => String(name).toLowerCase())),
    );
    const unique = [...new Set(parquet.map((file) => file.file))];
    // One row per column chunk: its file, row group, top-level column, size, and min/max when exact.
    const result = await this.execute(
      `SELECT file_name, row_group_id, lower(path_in_schema), total_compressed_size, CASE WHEN min_is_exact IS DISTINCT FROM false THEN stats_min_value END, CASE WHEN max_is_exact IS DISTINCT FROM false THEN stats_max_value END FROM parquet_metadata([${unique.map(quoteString).join(', ')}])`,
    );
    /** Per file, per row group: the chunks' sizes and statistics by column (a nested column's chunks summed, no statistics). */
    const groups = new Map<string, Map<number, Map<string, { bytes: number } & ChunkStats>>>();
    for (const [name, group, path, bytes, min, max] of await result.getRows()) {
      const byGroup = groups.get(String(name)) ?? new Map<number, Map<string, { bytes: number } & ChunkStats>>();
      groups.set(String(name), byGroup);
      const columns = byGroup.get(Number(group)) ?? new Map<string, { bytes: number } & ChunkStats>();
      byGroup.set(Number(group), columns);
      const column = String(path).split(',')[0]!;
      const nested = String(path).includes(',');
      const entry = columns.get(column);
      if (entry) {
        entry.bytes += Number(bytes);
        entry.min = entry.max = null;
      } else {
        columns.set(column, {
          bytes: Number(bytes),
          min: nested || min === null ? null : String(min),
          max: nested || max === null ? null : String(max),
        });
      }
    }
    let total = textBytes;
    for (const table of tables) {
      const files = table.scans.flatMap((scan) => scan.files).filter((file) => file.format === 'parquet');
      if (files.length === 0) continue;
      const skipped = await this.skippedRowGroups(table, tables, files, groups);
      for (const [index, file] of files.entries()) {
        const byGroup = groups.get(file.file) ?? new Map<number, Map<string, { bytes: number } & ChunkStats>>();
        let all = 0;
        let read = 0;
        for (const [group, columns] of byGroup) {
          for (const [column, chunk] of columns) {
            all += chunk.bytes;
            if ((everyColumn || named.has(column)) && !skipped.has(`${index}:${group}`)) read += chunk.bytes;
          }
        }
        total += Math.max(0, file.object.size - all) + read;
      }
    }
    return total;
  }

  /**
   * The row groups (`<file index>:<row group>`) of the table's Parquet files that its WHERE terms rule out by
   * their min/max statistics (local-aws/athena/engine/row-groups.ts); none when a term cannot be evaluated.
   */
  private async skippedRowGroups(
    table: TableScan,
    tables: TableScan[],
    files: ScanFile[],
    groups: Map<string, Map<number, Map<string, ChunkStats>>>,
  ): Promise<Set<string>> {
    const types = new Map(table.layout.columns.map((column) => [column.name.toLowerCase(), column.type]));
    const columnOf = dataColumnOf(table.ref, [...types.keys()], (column) =>
      this.otherItemHasColumn(table, tables, column),
    );
    const { terms, columns } = rowGroupTerms(table.ref, columnOf, types);
    if (terms.length === 0) return new Set();
    const keys: string[] = [];
    const stats: RowGroupStats[] = [];
    for (const [index, file] of files.entries()) {
      for (const [group, chunks] of groups.get(file.file) ?? []) {
        keys.push(`${index}:${group}`);
        stats.push({ columns: chunks });
      }
    }
    if (stats.length === 0) return new Set();
    const condition = selectStatement([conjunction(terms)]);
    try {
      const result = await this.execute(
        "SELECT * FROM query($1::VARCHAR || substr(json_deserialize_sql($2::VARCHAR), length('SELECT ') + 1) || ', true)')",
        [rowGroupQuery(columns, types, stats), serializedStatement(condition)],
      );
      const kept = new Set((await result.getRows()).map((row) => keys[Number(row[0])]!));
      return new Set(keys.filter((key) => !kept.has(key)));
    } catch (error) {
      if (this.signal.aborted) throw error;
      // Reading every row group is always correct.
      this.deps.logger?.warn(
        { err: error, table: table.ref.table },
        'row-group pruning failed; counting every row group',
      );
      return new Set();
    }
  }

  private async profile(table: TableScan): Promise<void> {
    const files = table.scans.flatMap((scan) => scan.files);
    const json = files.filter((file) => file.format === 'json');
    const parquet = files.filter((file) => file.format === 'parquet');
    if (json.length > 0) await this.profileJson(json);
    if (parquet.length > 0) {
      const result = await this.execute(
        `DESCRIBE SELECT * FROM read_parquet([${parquet.map((file) => quoteString(file.file)).join(', ')}], union_by_name = true)`,
      );
      const keys = (await result.getRows()).map((row) => String(row[0]));
      for (const file of parquet) file.profile = { keys };
    }
  }

  /** The top-level keys of each JSON file, to match columns case-insensitively; kept beside the cached file. */
  private async profileJson(files: ScanFile[]): Promise<void> {
    const missing: ScanFile[] = [];
    for (const file of files) {
      file.profile = this.deps.cache.readProfile<FileProfile>(file.file);
      if (!file.profile) missing.push(file);
    }
    const unique = [...new Set(missing.map((file) => file.file))];
    if (unique.length === 0) return;
    const result = await this.execute(
      `SELECT filename, list(DISTINCT key) FROM (SELECT filename, unnest(json_keys(json)) AS key FROM read_ndjson_objects([${unique.map(quoteString).join(', ')}], filename = true, ignore_errors = true)) GROUP BY filename`,
    );
    const profiles = new Map<string, FileProfile>(unique.map((file) => [file, { keys: [] }]));
    for (const [name, keys] of await result.getRows()) {
      const items = keys !== null && typeof keys === 'object' && 'items' in keys ? keys.items : [];
      profiles.set(String(name), { keys: items.map(String) });
    }
    for (const [file, profile] of profiles) this.deps.cache.writeProfile(file, profile);
    for (const file of missing) file.profile = profiles.get(file.file);
  }

  private async outcome(
    result: DuckDBMaterializedResult,
    analysis: AnalyzedQuery,
    scanned: number,
  ): Promise<QueryOutcome> {
    const types = result.columnTypes();
    const names = result.columnNames().map((name, index) => {
      if (name.startsWith(UNNAMED_COLUMN)) return `_col${index}`;
      if (analysis.anonymousValues && /^col\d+$/.test(name)) return `_col${index}`;
      return name;
    });
    const columns = names.map((name, index) => resultColumn(name, types[index]!));
    // Chunk by chunk: with a consumer of rows, only one chunk's values and text are alive at a time.
    const rows: (string | null)[][] = [];
    let rowCount = 0;
    for (let chunk = 0; chunk < result.chunkCount; chunk++) {
      const rendered = result
        .getChunk(chunk)
        .getRows()
        .map((row) => row.map((value, index) => renderValue(types[index]!, value)));
      rowCount += rendered.length;
      if (this.request.onRows) await this.request.onRows(columns, rendered);
      else rows.push(...rendered);
    }
    return {
      statementType: 'DML',
      columns,
      rows,
      rowCount,
      dataScannedBytes: scanned,
      planningMs: this.planningMs,
      engineMs: this.elapsed(),
    };
  }
}

/** What every location of a projected table starts with: the template up to its first placeholder's folder. */
function projectionRoot(projection: TableProjection): string {
  if (projection.template === undefined) return projection.tableLocation;
  const fixed = projection.template.slice(0, projection.template.indexOf('${'));
  return fixed.slice(0, fixed.lastIndexOf('/') + 1);
}

/** The objects of a listing (sorted by key, as S3 lists) whose keys start with the prefix. */
function objectsUnder(objects: StoredObject[], prefix: string): StoredObject[] {
  let low = 0;
  let high = objects.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (objects[middle]!.key < prefix) low = middle + 1;
    else high = middle;
  }
  let end = low;
  while (end < objects.length && objects[end]!.key.startsWith(prefix)) end++;
  return objects.slice(low, end);
}

/**
 * An injected key's values: those its equality conditions name (`key = 'a'`, `key IN ('a', 'b')`, all of
 * them holding at once). Athena refuses a query that gives it none, or any other kind of condition.
 */
function injectedValues(key: KeyProjection, predicates: JsonObject[]): string[] {
  const constant = (node: JsonObject | undefined) => {
    const value = node?.class === 'CONSTANT' ? objectField(node, 'value') : undefined;
    return value && value.is_null !== true && value.value !== null ? String(value.value as string | number) : undefined;
  };
  const column = (node: JsonObject | undefined) => node?.class === 'COLUMN_REF';
  let chosen: string[] | undefined;
  for (const term of predicates) {
    let values: (string | undefined)[] | undefined;
    if (term.class === 'COMPARISON' && term.type === 'COMPARE_EQUAL') {
      const [left, right] = [objectField(term, 'left'), objectField(term, 'right')];
      if (column(left)) values = [constant(right)];
      else if (column(right)) values = [constant(left)];
    } else if (term.class === 'OPERATOR' && term.type === 'COMPARE_IN') {
      const [first, ...rest] = objectsIn(term, 'children');
      if (column(first)) values = rest.map(constant);
    }
    if (!values || values.some((value) => value === undefined)) throw injectedProjectionConstraint(key.key);
    const named = values as string[];
    chosen = chosen === undefined ? [...new Set(named)] : chosen.filter((value) => named.includes(value));
  }
  if (chosen === undefined) throw injectedProjectionConstraint(key.key);
  return chosen;
}
