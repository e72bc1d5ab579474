import { parse } from 'csv-parse/sync';
import { mergeTypes, NULL, primitive, STRING, type Field, type GlueType } from './schema';

/**
 * The built-in CSV classifier, following the rules the Glue documentation
 * gives: the delimiters it tries, at least two columns and two rows, and the
 * header heuristics.
 */

export interface CsvFormat {
  delimiter: string;
  /** The first row names the columns (`skip.header.line.count` 1). */
  header: boolean;
  /** Some fields are quoted: the table takes OpenCSVSerde instead of LazySimpleSerDe. */
  quoted: boolean;
}

export type CsvOutcome =
  | { kind: 'csv'; format: CsvFormat; fields: Field[]; records: number; consumedBytes: number }
  | { kind: 'not-csv'; reason: string };

/** Glue's candidates, in the order it tries them: comma, pipe, tab, semicolon, Ctrl-A. */
export const CSV_DELIMITERS = [',', '|', '\t', ';', '\u0001'] as const;
/** Glue reads the first 1000 records or the first megabyte, whichever comes first. */
const MAX_RECORDS = 1000;
/** Header cells must be shorter than this, except the last. */
const MAX_HEADER_CELL = 150;
/** Glue's pattern for a column name (printable characters and tab), 1 to 255 long. */
const COLUMN_NAME = /^[\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}\t]{1,255}$/u;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The type of one CSV value. Integers are bigint: Glue's CSV classifier does not narrow them to int. */
export function csvValueType(raw: string): GlueType {
  const value = raw.trim();
  if (value === '') return NULL;
  if (/^(true|false)$/i.test(value)) return primitive('boolean');
  if (INTEGER.test(value)) {
    const integer = BigInt(value);
    return primitive(integer >= INT64_MIN && integer <= INT64_MAX ? 'bigint' : 'double');
  }
  if (DECIMAL.test(value)) return primitive('double');
  return STRING;
}

function columnTypes(rows: readonly string[][], width: number): GlueType[] {
  const types: GlueType[] = Array.from({ length: width }, () => NULL);
  for (const row of rows) {
    row.forEach((cell, index) => {
      types[index] = mergeTypes(types[index]!, csvValueType(cell));
    });
  }
  return types;
}

const isString = (type: GlueType) => type.kind === 'null' || (type.kind === 'primitive' && type.name === 'string');

/**
 * The header rules of the built-in classifier: every header cell parses as a
 * string, is shorter than 150 characters (except the last) and is a valid
 * column name (the last may be empty, for a trailing delimiter); and the data
 * differs from it: some column of the data rows is not a string.
 */
function hasHeader(first: readonly string[], dataTypes: readonly GlueType[]): boolean {
  const last = first.length - 1;
  const headerLike = first.every((cell, index) => {
    const name = cell.trim();
    if (name === '') return index === last;
    return isString(csvValueType(name)) && (index === last || name.length < MAX_HEADER_CELL) && COLUMN_NAME.test(name);
  });
  return headerLike && dataTypes.some((type) => !isString(type));
}

function headerNames(first: readonly string[]): string[] {
  const seen = new Set<string>();
  return first.map((cell, index) => {
    let name = cell.trim().toLowerCase() || `col${index}`;
    if (seen.has(name)) name = `${name}_${index}`;
    seen.add(name);
    return name;
  });
}

interface Parsed {
  rows: string[][];
  /** Bytes of the data the rows span. */
  consumedBytes: number;
}

/** The rows the delimiter splits the data into, if they make a table: two or more rows of the same two or more columns. */
function tryDelimiter(data: Buffer, delimiter: string): Parsed | undefined {
  const firstLine = data.subarray(0, data.indexOf(0x0a) === -1 ? data.length : data.indexOf(0x0a)).toString('utf8');
  if (!firstLine.includes(delimiter)) return undefined;
  let rows: string[][];
  let lastRecordEnd = 0;
  try {
    rows = parse(data, {
      delimiter,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      to: MAX_RECORDS + 1,
      on_record: (record: string[], context) => {
        lastRecordEnd = context.bytes;
        return record;
      },
    });
  } catch {
    return undefined;
  }
  const width = rows[0]?.length ?? 0;
  if (rows.length < 2 || width < 2 || rows.some((row) => row.length !== width)) return undefined;
  const consumedBytes = rows.length > MAX_RECORDS ? lastRecordEnd : data.length;
  return { rows, consumedBytes };
}

/**
 * Infers the schema of delimited text. `complete` says whether `data` is the
 * whole object; when it is not, the last (possibly cut) line is left out.
 */
export function inferCsv(data: Buffer, complete: boolean): CsvOutcome {
  const text = complete ? data : data.subarray(0, data.lastIndexOf(0x0a) + 1);
  for (const delimiter of CSV_DELIMITERS) {
    const parsed = tryDelimiter(text, delimiter);
    if (!parsed) continue;
    const rows = parsed.rows.slice(0, MAX_RECORDS + 1);
    const [first, ...rest] = rows as [string[], ...string[][]];
    const width = first.length;
    const dataTypes = columnTypes(rest, width);
    const header = hasHeader(first, dataTypes);
    const names = header ? headerNames(first) : first.map((_, index) => `col${index}`);
    const types = header ? dataTypes : columnTypes(rows, width);
    const quote = new RegExp(`(^|${delimiter.replace(/[|\\]/g, '\\$&')})[ \\t]*"`, 'm');
    return {
      kind: 'csv',
      format: { delimiter, header, quoted: quote.test(text.toString('utf8')) },
      fields: names.map((name, index) => ({ name, type: types[index]! })),
      records: header ? rows.length - 1 : rows.length,
      consumedBytes: parsed.consumedBytes,
    };
  }
  return {
    kind: 'not-csv',
    reason: 'no delimiter (comma, pipe, tab, semicolon, Ctrl-A) splits it into two or more rows of two or more columns',
  };
}
