/**
 * The named queries TickSync ships: Athena SQL (engine v3, Trino) over the
 * table the crawler makes of the raw topic. Each looks at a window of the last
 * N minutes, either of arrival time (`ts`, stamped at replay, which also names
 * the dt/hour partition, so Athena reads only the window's partitions) or of
 * event time (the data's own timestamp column: the window ends at its latest
 * value). The columns come from the table's schema: the ticks' symbol/price/size
 * and the index data's index/close/volume alike, unless the caller names them.
 * Workflow code imports this file: no Node built-ins.
 */

export const NAMED_QUERY_NAMES = ['trades', 'top-volume', 'vwap', 'ohlc'] as const;
export type NamedQueryName = (typeof NAMED_QUERY_NAMES)[number];

export const TIME_BASES = ['event', 'arrival'] as const;
/** event: the data's own timestamp column; arrival: `ts`, when the replay sent the row. */
export type TimeBasis = (typeof TIME_BASES)[number];

export interface NamedQueryOptions {
  /** The Glue table (the raw topic's folder name). */
  table: string;
  /** The window: the last N minutes of the chosen time. */
  minutes: number;
  /** Rows of top-volume and trades. */
  limit: number;
  /** Which clock the window follows; `event` falls back to arrival when the table has no event-time column. */
  time: TimeBasis;
  /** Columns named by the caller; the others are found in the table's schema. */
  symbolColumn?: string;
  priceColumn?: string;
  sizeColumn?: string;
  timeColumn?: string;
}

export const NAMED_QUERY_DEFAULTS: Omit<NamedQueryOptions, 'table'> = { minutes: 10, limit: 10, time: 'event' };

export const NAMED_QUERY_DESCRIPTIONS: Record<NamedQueryName, string> = {
  trades: 'the latest trades in the window (symbol, time, price, size), with their count',
  'top-volume': 'the symbols with the most volume in the window',
  vwap: 'volume-weighted average price per symbol in the window',
  ohlc: 'open, high, low, close and volume per symbol and minute in the window',
};

/** A column of the table, as the catalog lists it. */
export interface TableColumn {
  name: string;
  type: string;
}

interface CatalogColumn {
  Name?: string;
  Type?: string;
}

/** A Glue table's columns as Athena shows them: data columns, then partition keys. */
export const columnsOfTable = (table: {
  StorageDescriptor?: { Columns?: CatalogColumn[] };
  PartitionKeys?: CatalogColumn[];
}): TableColumn[] =>
  [...(table.StorageDescriptor?.Columns ?? []), ...(table.PartitionKeys ?? [])].map((column) => ({
    name: (column.Name ?? '').toLowerCase(),
    type: column.Type ?? '',
  }));

/**
 * The columns a named query reads. A role may have several columns (a topic that
 * carried ticks and index data has both `symbol` and `index`): the query takes the
 * first that is not null in each row.
 */
export interface QueryColumns {
  symbol: TableColumn[];
  price: TableColumn[];
  size: TableColumn[];
  /** The event-time column; absent: the window follows arrival time. */
  eventTime?: TableColumn;
}

/** Column names tried for each role, in order (the replay's symbol candidates first). */
export const COLUMN_CANDIDATES = {
  symbol: ['symbol', 'ticker', 'index'],
  price: ['price', 'close', 'last'],
  size: ['size', 'volume', 'quantity', 'qty'],
  eventTime: ['event_time', 'timestamp', 'time', 'datetime', 'date', 'trade_time'],
} as const;

/** The columns of the tick files `npm run generate` writes (and of the ticks the tests make), without event time. */
export const TICK_COLUMNS: QueryColumns = {
  symbol: [{ name: 'symbol', type: 'string' }],
  price: [{ name: 'price', type: 'double' }],
  size: [{ name: 'size', type: 'bigint' }],
};

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** The table a Glue crawler makes of a topic's folder: its name lowercased, other characters as `_`. */
export const tableForTopic = (topic: string) => topic.toLowerCase().replace(/[^a-z0-9_]/g, '_');

/** Checks the options, naming the first that is wrong. */
export function checkNamedQueryOptions(options: NamedQueryOptions): void {
  for (const key of ['table', 'symbolColumn', 'priceColumn', 'sizeColumn', 'timeColumn'] as const) {
    const value = options[key];
    if ((key === 'table' || value !== undefined) && !IDENTIFIER.test(value ?? ''))
      throw new Error(`${key}: expected a lowercase Glue name (letters, digits, _), got ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(options.minutes) || options.minutes < 1 || options.minutes > 525_600)
    throw new Error(`minutes: expected a whole number from 1 to 525600, got ${options.minutes}`);
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 10_000)
    throw new Error(`limit: expected a whole number from 1 to 10000, got ${options.limit}`);
  if (!TIME_BASES.includes(options.time))
    throw new Error(`time: expected ${TIME_BASES.join(' or ')}, got ${JSON.stringify(options.time)}`);
}

/**
 * The columns of each role in a table's schema: the one the caller named, else
 * every candidate the table has. Throws, naming the role and the flag, when a role
 * has none.
 */
export function resolveColumns(table: string, columns: TableColumn[], options: NamedQueryOptions): QueryColumns {
  const byName = new Map(columns.map((column) => [column.name.toLowerCase(), column]));
  const pick = (role: 'symbol' | 'price' | 'size' | 'eventTime', named: string | undefined, flag: string) => {
    if (named !== undefined) {
      const column = byName.get(named);
      if (!column)
        throw new Error(
          `table ${table} has no column ${named} (its columns: ${columns.map((entry) => entry.name).join(', ')})`,
        );
      return [column];
    }
    const found = COLUMN_CANDIDATES[role].flatMap((name) => byName.get(name) ?? []);
    if (found.length === 0 && role !== 'eventTime')
      throw new Error(
        `table ${table} has no ${role} column (looked for ${COLUMN_CANDIDATES[role].join(', ')}; ` +
          `its columns: ${columns.map((entry) => entry.name).join(', ')}): name it with ${flag}`,
      );
    return found;
  };
  return {
    symbol: pick('symbol', options.symbolColumn, '--symbol-column'),
    price: pick('price', options.priceColumn, '--price-column'),
    size: pick('size', options.sizeColumn, '--size-column'),
    eventTime: options.time === 'event' ? pick('eventTime', options.timeColumn, '--time-column')[0] : undefined,
  };
}

const quote = (name: string) => `"${name}"`;

/** One role's value: its column, or the first non-null of its columns (as one type). */
function roleSql(columns: TableColumn[], as: 'varchar' | 'double'): string {
  if (columns.length === 1) return quote(columns[0]!.name);
  return `coalesce(${columns.map((column) => `CAST(${quote(column.name)} AS ${as})`).join(', ')})`;
}

/** An event-time column as a timestamp: ISO-8601 text (a date or an instant) or a timestamp/date column. */
function timestampSql(column: TableColumn): string {
  const type = column.type.toLowerCase();
  if (type.startsWith('timestamp')) return quote(column.name);
  if (type === 'date') return `CAST(${quote(column.name)} AS timestamp)`;
  return `from_iso8601_timestamp(${quote(column.name)})`;
}

/** How a result's window was measured, for the line that says so. */
export function describeTime(columns: QueryColumns, options: Pick<NamedQueryOptions, 'minutes' | 'time'>): string {
  const minutes = `the last ${options.minutes} minute${options.minutes === 1 ? '' : 's'}`;
  if (columns.eventTime) return `${minutes} of event time (column ${columns.eventTime.name}, up to its latest value)`;
  const fallback = options.time === 'event' ? '; the table has no event-time column' : '';
  return `${minutes} of arrival time (column ts, up to now${fallback})`;
}

/** The columns each role read, e.g. `symbol=index, price=close, size=volume`. */
export function describeColumns(columns: QueryColumns): string {
  const names = (entries: TableColumn[]) => entries.map((entry) => entry.name).join('|');
  return `symbol=${names(columns.symbol)}, price=${names(columns.price)}, size=${names(columns.size)}`;
}

/** The SQL of a named query over the given columns (by default the tick files' symbol/price/size, on arrival time). */
export function namedQuerySql(name: NamedQueryName, options: NamedQueryOptions, columns = TICK_COLUMNS): string {
  checkNamedQueryOptions(options);
  const { table, minutes, limit } = options;
  const symbol = roleSql(columns.symbol, 'varchar');
  const price = roleSql(columns.price, 'double');
  const size = roleSql(columns.size, 'double');
  // Arrival order within a run: ts (ISO-8601 UTC, so it sorts as text), then seq.
  const arrival = `ts || lpad(CAST(seq AS varchar), 20, '0')`;
  let source: string;
  let time: string;
  let order: string;
  if (columns.eventTime) {
    // The window ends at the data's latest event time: replayed history has no "now" of its own.
    const event = timestampSql(columns.eventTime);
    source = `(SELECT *, ${event} AS window_time FROM ${table} WHERE ${quote(columns.eventTime.name)} IS NOT NULL) AS events
  WHERE window_time >= (SELECT max(${event}) FROM ${table}) - interval '${minutes}' minute`;
    time = 'window_time';
    order = `concat(CAST(window_time AS varchar), ${arrival})`;
  } else {
    const since = `current_timestamp - interval '${minutes}' minute`;
    // The partition terms let Athena skip every hour before the window; the ts term (ts as text from the
    // window's first minute: implied by the last term, as ts is ISO-8601 UTC) lets it skip the Parquet row
    // groups of a compacted hour whose ts statistics end before the window; the last term is the window itself.
    source = `${table}
  WHERE ${[
    `dt >= date_format(${since}, '%Y-%m-%d')`,
    `dt || hour >= date_format(${since}, '%Y-%m-%d%H')`,
    `ts >= date_format(${since}, '%Y-%m-%dT%H:%i')`,
    `from_iso8601_timestamp(ts) >= ${since}`,
  ].join('\n    AND ')}`;
    time = 'from_iso8601_timestamp(ts)';
    order = arrival;
  }
  const windowed = `windowed AS (
  SELECT *, ${symbol} AS trade_symbol, ${price} AS trade_price, ${size} AS trade_size, ${time} AS trade_time,
    ${order} AS trade_order
  FROM ${source}
)`;
  switch (name) {
    case 'trades':
      // window_trades counts the whole window before the limit: the script prints it as the footer.
      return `WITH ${windowed}
SELECT trade_symbol AS symbol, trade_time AS time, trade_price AS price, trade_size AS size,
  count(*) OVER () AS window_trades
FROM windowed
ORDER BY trade_order DESC
LIMIT ${limit}`;
    case 'top-volume':
      return `WITH ${windowed}
SELECT trade_symbol AS symbol, sum(trade_size) AS volume, count(*) AS trades
FROM windowed
GROUP BY trade_symbol
ORDER BY volume DESC, symbol
LIMIT ${limit}`;
    case 'vwap':
      return `WITH ${windowed}
SELECT trade_symbol AS symbol, sum(trade_price * trade_size) / sum(trade_size) AS vwap, sum(trade_size) AS volume,
  count(*) AS trades
FROM windowed
WHERE trade_size > 0
GROUP BY trade_symbol
ORDER BY symbol`;
    case 'ohlc':
      return `WITH ${windowed}
SELECT trade_symbol AS symbol, date_trunc('minute', trade_time) AS minute,
  min_by(trade_price, trade_order) AS open, max(trade_price) AS high, min(trade_price) AS low,
  max_by(trade_price, trade_order) AS close, sum(trade_size) AS volume, count(*) AS trades
FROM windowed
GROUP BY 1, 2
ORDER BY 1, 2`;
  }
}
