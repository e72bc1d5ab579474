import type { ColumnInfo, Row } from '@aws-sdk/client-athena';

/**
 * Athena's result file: CSV with every value double-quoted (quotes doubled),
 * NULL as an empty unquoted field, and for SELECT a header row first.
 */

const field = (value: string | null) => (value === null ? '' : `"${value.replace(/"/g, '""')}"`);

/** One row of the file, its newline included. */
export const toCsvLine = (row: (string | null)[]) => `${row.map(field).join(',')}\n`;

/**
 * The rows of text written by `toCsvLine`, read back: every value quoted, NULL empty and unquoted. Anything else
 * (an unquoted value, text after a closing quote, an unterminated quote) gives `undefined`, for a general CSV
 * parser to read instead. It allocates nothing per field but the value, which a page of a large result needs:
 * csv-parse's per-field cast context cost ~7 µs a field.
 */
export function fromCsvLines(text: string): (string | null)[][] | undefined {
  const rows: (string | null)[][] = [];
  let at = 0;
  while (at < text.length) {
    const row: (string | null)[] = [];
    for (;;) {
      if (text.charCodeAt(at) === 0x22) {
        // A quoted value runs to the first quote that is not doubled.
        let value = '';
        let from = at + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote < 0) return undefined;
          if (text.charCodeAt(quote + 1) !== 0x22) {
            value += text.slice(from, quote);
            at = quote + 1;
            break;
          }
          value += text.slice(from, quote + 1);
          from = quote + 2;
        }
        row.push(value);
      } else {
        row.push(null);
      }
      // After a value: a comma and the next one, or the row's end.
      const next = text.charCodeAt(at);
      if (next === 0x2c) {
        at++;
        continue;
      }
      if (next !== 0x0a && at !== text.length) return undefined;
      at++;
      break;
    }
    rows.push(row);
  }
  return rows;
}

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
