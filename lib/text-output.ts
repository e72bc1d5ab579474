import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import type { QueryResult } from './contracts';

/**
 * How TickSync prints to a terminal: plain tables that fit its width, and an Athena result as a table, CSV or
 * JSON. The scripts (`npm run query`, `demo`, `consume -- status`, ...) all print through here.
 */

export type ResultFormat = 'table' | 'csv' | 'json';

/** Output fits this many columns: a terminal's width, at most 100 (the README's examples and tests use 100). */
export const OUTPUT_WIDTH = Math.min(process.stdout.columns || 100, 100);

/**
 * A plain table (no colours, so output stays plain in logs and pipes) that fits `width`
 * columns: the widest columns give way first (those in `shrinkFirst` before any other),
 * their values cut with `…`.
 */
export function textTable(
  head: string[] | undefined,
  rows: string[][],
  { width = OUTPUT_WIDTH, shrinkFirst = [] as number[] } = {},
): string {
  const count = Math.max(head?.length ?? 0, ...rows.map((row) => row.length));
  // Each column has one space of padding either side and one border character after it, plus the first border.
  const widths = Array.from(
    { length: count },
    (_, index) => Math.max(...[head ?? [], ...rows].map((row) => (row[index] ?? '').length), 1) + 2,
  );
  const MIN = 6;
  while (widths.reduce((sum, column) => sum + column, 0) + count + 1 > width) {
    const first = shrinkFirst.filter((index) => widths[index]! > MIN);
    const candidates = first.length > 0 ? first : widths.map((_, index) => index);
    const widest = candidates.reduce((best, index) => (widths[index]! > widths[best]! ? index : best));
    if (widths[widest]! <= MIN) break;
    widths[widest]! -= 1;
  }
  // No rule between rows: a table of results reads (and fits a screen) better without.
  const chars = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  const table = new Table({ head, colWidths: widths, chars, style: { head: [], border: [] } });
  table.push(...rows);
  return table.toString();
}

/** The first `max` rows, and the line that says how many more there are and how to get them. */
export function firstRows<T>(rows: T[], max: number): { shown: T[]; more?: string } {
  if (rows.length <= max) return { shown: rows };
  const rest = rows.length - max;
  return { shown: rows.slice(0, max), more: `… ${rest} more row${rest === 1 ? '' : 's'}, use --format csv` };
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'bigint']);
const NUMBER_TYPES = new Set(['real', 'double', 'float']);

/** A value as JSON: numbers and booleans typed (a bigint beyond 2^53 stays a string), the rest strings. */
function jsonValue(value: string | null, type: string): unknown {
  if (value === null) return null;
  if (type === 'boolean') return value === 'true';
  if (INTEGER_TYPES.has(type)) return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (NUMBER_TYPES.has(type) || type.startsWith('decimal')) {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  return value;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
function bytes(value: number | undefined): string {
  let size = value ?? 0;
  let unit = 0;
  while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(2)} ${SIZE_UNITS[unit]}`;
}

const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(2)} s`;

/** The lines under the rows: how many, how long, how much data was read, and where the whole result is. */
export function summaryLine(result: QueryResult): string {
  const { statistics } = result;
  const rows = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  const truncated = result.truncated ? ` (the first ${result.rows.length}; the whole result is in the CSV)` : '';
  return (
    `${rows}${truncated} in ${seconds(statistics.totalMs)} ` +
    `(queued ${seconds(statistics.queueMs)}, engine ${seconds(statistics.engineMs)}), ` +
    `data scanned ${bytes(statistics.dataScannedBytes)}\n` +
    `Query ${result.queryExecutionId}\nResults: ${result.outputLocation}`
  );
}

/** A named query's window and columns, in words: printed above its rows. */
export function namedHeading(result: QueryResult): string | undefined {
  const { named } = result;
  return named && `${named.name}: ${named.time}\ncolumns: ${named.columns}; times in UTC`;
}

/**
 * `trades` counts its whole window in a last column (window_trades): in a table that
 * count becomes the footer, and the column leaves the rows (csv and json keep it).
 */
function splitTradeCount(result: QueryResult): { result: QueryResult; footer?: string } {
  const last = result.columns.length - 1;
  if (result.named?.name !== 'trades' || result.columns[last]?.name !== 'window_trades') return { result };
  const count = Number(result.rows[0]?.[last] ?? 0);
  const shown = result.rows.length < count ? ` (the latest ${result.rows.length} shown; --limit for more)` : '';
  return {
    result: { ...result, columns: result.columns.slice(0, last), rows: result.rows.map((row) => row.slice(0, last)) },
    footer: `${count} trade${count === 1 ? '' : 's'} in the window${shown}`,
  };
}

/**
 * A value as a table shows it, short enough for a terminal: a fractional number with
 * 2 decimals (4 below 1), a timestamp without zero seconds and its UTC zone (the
 * heading says times are UTC). csv and json keep the values as Athena wrote them.
 */
export function displayValue(value: string | null, type: string): string {
  if (value === null) return 'NULL';
  if (NUMBER_TYPES.has(type) || type.startsWith('decimal')) {
    const number = Number(value);
    if (!Number.isFinite(number) || Number.isInteger(number)) return value;
    return number.toLocaleString('en-US', { maximumFractionDigits: Math.abs(number) < 1 ? 4 : 2, useGrouping: false });
  }
  if (type.startsWith('timestamp')) return value.replace(/ UTC$/, '').replace(/(:00)?\.000$/, '');
  return value;
}

/** Rows a table shows at most; csv and json print every row fetched. */
export const TABLE_ROWS = 50;

export function formatResult(input: QueryResult, format: ResultFormat, tableRows = TABLE_ROWS): string {
  if (format === 'csv') return stringify([input.columns.map((column) => column.name), ...input.rows]).trimEnd();
  if (format === 'json') {
    const rows = input.rows.map((row) =>
      Object.fromEntries(
        row.map((value, index) => [input.columns[index]!.name, jsonValue(value, input.columns[index]!.type)]),
      ),
    );
    return JSON.stringify({ ...input, rows }, null, 2);
  }
  const { result, footer } = splitTradeCount(input);
  const names = result.columns.map((column) => column.name);
  const { shown, more } = firstRows(result.rows, tableRows);
  const table = textTable(
    names,
    shown.map((row) => row.map((value, index) => displayValue(value, result.columns[index]!.type))),
  );
  return [table, more, footer].filter((line) => line !== undefined).join('\n');
}
