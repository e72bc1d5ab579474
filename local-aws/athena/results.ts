import type { ColumnInfo, Row } from '@aws-sdk/client-athena';

/**
 * Athena's result file: CSV with every value double-quoted (quotes doubled),
 * NULL as an empty unquoted field, and for SELECT a header row first.
 */

const field = (value: string | null) => (value === null ? '' : `"${value.replace(/"/g, '""')}"`);

/** One row of the file, its newline included. */
export const toCsvLine = (row: (string | null)[]) => `${row.map(field).join(',')}\n`;

/** GetQueryResults rows: a value is `{ VarCharValue }`, a NULL an empty datum. */
export function toRows(header: string[] | undefined, rows: (string | null)[][]): Row[] {
  const datum = (value: string | null) => (value === null ? {} : { VarCharValue: value });
  return [...(header ? [header] : []), ...rows].map((row) => ({ Data: row.map(datum) }));
}

export function columnInfo(
  columns: { name: string; type: string; precision: number; scale: number; nullable: string }[],
): ColumnInfo[] {
  return columns.map((column) => ({
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: column.name,
    Label: column.name,
    Type: column.type,
    Precision: column.precision,
    Scale: column.scale,
    Nullable: column.nullable as ColumnInfo['Nullable'],
    CaseSensitive: column.type === 'varchar' || column.type === 'char',
  }));
}
