import type { Column } from '@aws-sdk/client-glue';
import { namePartsOf, resolveTable, tableName } from './catalog';
import { genericUserError, notSupported, schemaNotFound, type SqlPosition } from './errors';
import { hivePatternMatcher, positionAt, type QualifiedName, type UtilityStatement } from './sql-text';
import type { ResultColumn, StatementType, TableCatalog } from './types';

/**
 * The statements Athena answers from the catalog alone (its Hive DDL path):
 * SHOW DATABASES/SCHEMAS, SHOW TABLES, SHOW PARTITIONS, SHOW COLUMNS, DESCRIBE.
 * Their results are Hive's: `string` columns, no header row in the result file.
 */

export interface UtilityResult {
  statementType: StatementType;
  columns: ResultColumn[];
  rows: (string | null)[][];
}

const stringColumn = (name: string): ResultColumn => ({
  name,
  type: 'string',
  precision: 0,
  scale: 0,
  nullable: 'UNKNOWN',
});

const ddl = (column: string, values: string[]): UtilityResult => ({
  statementType: 'DDL',
  columns: [stringColumn(column)],
  rows: values.map((value) => [value]),
});

interface UtilityContext {
  sql: string;
  database: string;
  catalog: TableCatalog;
}

function lookup(name: QualifiedName, context: UtilityContext) {
  const position: SqlPosition = positionAt(context.sql, name.start);
  const resolved = tableName(namePartsOf(name.parts), context.database);
  return { name: resolved, ...resolveTable(context.catalog, resolved, position) };
}

function showDatabases(pattern: string | undefined, { catalog }: UtilityContext): UtilityResult {
  if (!catalog.listDatabases) throw notSupported('SHOW DATABASES needs a catalog that lists databases');
  const matches = hivePatternMatcher(pattern);
  return ddl('database_name', catalog.listDatabases().filter(matches).sort());
}

function showTables(database: QualifiedName | undefined, pattern: string | undefined, context: UtilityContext) {
  if (!context.catalog.listTables) throw notSupported('SHOW TABLES needs a catalog that lists tables');
  const name = (database?.parts.at(-1) ?? context.database).toLowerCase();
  const tables = context.catalog.listTables(name);
  if (tables === undefined) throw schemaNotFound(name, database && positionAt(context.sql, database.start));
  return ddl('tab_name', tables.filter(hivePatternMatcher(pattern)).sort());
}

function showPartitions(name: QualifiedName, context: UtilityContext): UtilityResult {
  const { table, partitions, name: resolved } = lookup(name, context);
  const keys = table.PartitionKeys ?? [];
  if (keys.length === 0) throw genericUserError(`Table ${resolved.database}.${resolved.table} is not partitioned`);
  const values = partitions.map((partition) =>
    keys.map((key, index) => `${key.Name}=${partition.Values?.[index] ?? ''}`).join('/'),
  );
  return ddl('partition', values.sort());
}

function showColumns(name: QualifiedName, database: QualifiedName | undefined, context: UtilityContext) {
  const qualified = database ? { ...name, parts: [...database.parts, ...name.parts.slice(-1)] } : name;
  const { table } = lookup(qualified, context);
  const columns = [...(table.StorageDescriptor?.Columns ?? []), ...(table.PartitionKeys ?? [])];
  return ddl(
    'field',
    columns.map((column) => column.Name ?? ''),
  );
}

const describeRow = (column: Column): string[] => [column.Name ?? '', column.Type ?? '', column.Comment ?? ''];

/** Hive's DESCRIBE: the columns (partition keys included), then a "# Partition Information" section. */
function describe(name: QualifiedName, context: UtilityContext): UtilityResult {
  const { table } = lookup(name, context);
  const keys = table.PartitionKeys ?? [];
  const rows = [...(table.StorageDescriptor?.Columns ?? []), ...keys].map(describeRow);
  if (keys.length > 0) {
    rows.push(['', '', ''], ['# Partition Information', '', ''], ['# col_name', 'data_type', 'comment'], ['', '', '']);
    rows.push(...keys.map(describeRow));
  }
  return {
    statementType: 'UTILITY',
    columns: ['col_name', 'data_type', 'comment'].map(stringColumn),
    rows,
  };
}

export function runUtilityStatement(statement: UtilityStatement, context: UtilityContext): UtilityResult {
  switch (statement.kind) {
    case 'show-databases':
      return showDatabases(statement.pattern, context);
    case 'show-tables':
      return showTables(statement.database, statement.pattern, context);
    case 'show-partitions':
      return showPartitions(statement.table, context);
    case 'show-columns':
      return showColumns(statement.table, statement.database, context);
    case 'describe':
      return describe(statement.table, context);
  }
}
