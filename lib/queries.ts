/**
 * The named queries TickSync ships: Athena SQL (engine v3, Trino) over the
 * table the crawler makes of the raw topic. Every query looks at a window of
 * the last N minutes of arrival time (`ts`, which also names the dt/hour
 * partition), so Athena reads only the partitions of that window. Workflow code
 * imports this file: no Node built-ins.
 */

export const NAMED_QUERY_NAMES = ['trades', 'top-volume', 'vwap', 'ohlc'] as const;
export type NamedQueryName = (typeof NAMED_QUERY_NAMES)[number];

export interface NamedQueryOptions {
  /** The Glue table (the raw topic's folder name). */
  table: string;
  /** The window: records that arrived in the last N minutes. */
  minutes: number;
  /** Rows of top-volume. */
  limit: number;
  /** Column names: ticks have symbol/price/size; the sample index data has index/close/volume. */
  symbolColumn: string;
  priceColumn: string;
  sizeColumn: string;
}

export const NAMED_QUERY_DEFAULTS: Omit<NamedQueryOptions, 'table'> = {
  minutes: 10,
  limit: 10,
  symbolColumn: 'symbol',
  priceColumn: 'price',
  sizeColumn: 'size',
};

export const NAMED_QUERY_DESCRIPTIONS: Record<NamedQueryName, string> = {
  trades: 'trades, symbols and volume in the window',
  'top-volume': 'the symbols with the most volume in the window',
  vwap: 'volume-weighted average price per symbol in the window',
  ohlc: 'open, high, low, close and volume per symbol and minute in the window',
};

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** The table a Glue crawler makes of a topic's folder: its name lowercased, other characters as `_`. */
export const tableForTopic = (topic: string) => topic.toLowerCase().replace(/[^a-z0-9_]/g, '_');

/** Checks the options, naming the first that is wrong. */
export function checkNamedQueryOptions(options: NamedQueryOptions): void {
  for (const key of ['table', 'symbolColumn', 'priceColumn', 'sizeColumn'] as const) {
    if (!IDENTIFIER.test(options[key]))
      throw new Error(
        `${key}: expected a lowercase Glue name (letters, digits, _), got ${JSON.stringify(options[key])}`,
      );
  }
  if (!Number.isInteger(options.minutes) || options.minutes < 1 || options.minutes > 525_600)
    throw new Error(`minutes: expected a whole number from 1 to 525600, got ${options.minutes}`);
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 10_000)
    throw new Error(`limit: expected a whole number from 1 to 10000, got ${options.limit}`);
}

/** The SQL of a named query. */
export function namedQuerySql(name: NamedQueryName, options: NamedQueryOptions): string {
  checkNamedQueryOptions(options);
  const { table, minutes, limit, symbolColumn: symbol, priceColumn: price, sizeColumn: size } = options;
  const since = `current_timestamp - interval '${minutes}' minute`;
  // The partition terms let Athena skip every hour before the window; the last term is the window itself.
  const window = [
    `dt >= date_format(${since}, '%Y-%m-%d')`,
    `dt || hour >= date_format(${since}, '%Y-%m-%d%H')`,
    `from_iso8601_timestamp(ts) >= ${since}`,
  ].join('\n  AND ');
  switch (name) {
    case 'trades':
      return `SELECT count(*) AS trades, count(DISTINCT ${symbol}) AS symbols, sum(${size}) AS volume,
  min(from_iso8601_timestamp(ts)) AS first_ts, max(from_iso8601_timestamp(ts)) AS last_ts
FROM ${table}
WHERE ${window}`;
    case 'top-volume':
      return `SELECT ${symbol} AS symbol, sum(${size}) AS volume, count(*) AS trades
FROM ${table}
WHERE ${window}
GROUP BY ${symbol}
ORDER BY volume DESC, symbol
LIMIT ${limit}`;
    case 'vwap':
      return `SELECT ${symbol} AS symbol, sum(${price} * ${size}) / sum(${size}) AS vwap, sum(${size}) AS volume, count(*) AS trades
FROM ${table}
WHERE ${window} AND ${size} > 0
GROUP BY ${symbol}
ORDER BY symbol`;
    case 'ohlc':
      // Open and close follow arrival order: ts (ISO-8601 UTC, so it sorts as text), then seq within a run.
      return `WITH ordered AS (
  SELECT *, ts || lpad(CAST(seq AS varchar), 20, '0') AS arrival
  FROM ${table}
  WHERE ${window}
)
SELECT ${symbol} AS symbol, date_trunc('minute', from_iso8601_timestamp(ts)) AS minute,
  min_by(${price}, arrival) AS open, max(${price}) AS high, min(${price}) AS low, max_by(${price}, arrival) AS close,
  sum(${size}) AS volume, count(*) AS trades
FROM ordered
GROUP BY 1, 2
ORDER BY 1, 2`;
  }
}
