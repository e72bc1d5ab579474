import {
  describeColumns,
  describeTime,
  namedQuerySql,
  resolveColumns,
  type NamedQueryOptions,
  type TableColumn,
} from '../../lib/queries';
import { firstRows, textTable } from '../../lib/text-output';
import { displayValue } from '../../lib/text-output';

const columns = (...names: string[]): TableColumn[] =>
  names.map((name) => ({ name, type: name === 'volume' || name === 'close' ? 'double' : 'string' }));
const ENVELOPE = ['ts', 'run_id', 'seq', 'dt', 'hour'];
const options: NamedQueryOptions = { table: 'ticks', minutes: 10, limit: 10, time: 'event' };

describe('resolveColumns: each role found in the table, or named', () => {
  test('the sample index data: index/close/volume, event time from date', () => {
    const found = resolveColumns('ticks', columns('index', 'date', 'open', 'close', 'volume', ...ENVELOPE), options);
    expect(describeColumns(found)).toBe('symbol=index, price=close, size=volume');
    expect(found.eventTime).toEqual({ name: 'date', type: 'string' });
    expect(describeTime(found, options)).toBe(
      'the last 10 minutes of event time (column date, up to its latest value)',
    );
  });

  test('generated ticks: symbol/price/size, event time from timestamp; arrival when asked', () => {
    const table = columns('timestamp', 'symbol', 'price', 'size', 'side', ...ENVELOPE);
    expect(resolveColumns('ticks', table, options).eventTime?.name).toBe('timestamp');
    const arrival = resolveColumns('ticks', table, { ...options, time: 'arrival', minutes: 1 });
    expect(arrival.eventTime).toBeUndefined();
    expect(describeTime(arrival, { minutes: 1, time: 'arrival' })).toBe(
      'the last 1 minute of arrival time (column ts, up to now)',
    );
  });

  test('no event-time column: event falls back to arrival and says so', () => {
    const found = resolveColumns('ticks', columns('symbol', 'price', 'size', ...ENVELOPE), options);
    expect(found.eventTime).toBeUndefined();
    expect(describeTime(found, options)).toBe(
      'the last 10 minutes of arrival time (column ts, up to now; the table has no event-time column)',
    );
  });

  test('a topic that carried both shapes reads both: the first non-null of each role', () => {
    const found = resolveColumns('ticks', columns('symbol', 'price', 'size', 'index', 'close', 'volume'), options);
    expect(describeColumns(found)).toBe('symbol=symbol|index, price=price|close, size=size|volume');
    const sql = namedQuerySql('top-volume', { ...options, time: 'arrival' }, found);
    expect(sql).toContain('coalesce(CAST("symbol" AS varchar), CAST("index" AS varchar)) AS trade_symbol');
    expect(sql).toContain('coalesce(CAST("size" AS double), CAST("volume" AS double)) AS trade_size');
  });

  test('flags override what the schema offers, and a named column must exist', () => {
    const table = columns('symbol', 'price', 'size', 'close', ...ENVELOPE);
    expect(describeColumns(resolveColumns('ticks', table, { ...options, priceColumn: 'close' }))).toBe(
      'symbol=symbol, price=close, size=size',
    );
    expect(() => resolveColumns('ticks', table, { ...options, sizeColumn: 'qty' })).toThrow(
      'table ticks has no column qty (its columns: symbol, price, size, close, ts, run_id, seq, dt, hour)',
    );
  });

  test('a role the table lacks names the candidates and the flag', () => {
    expect(() => resolveColumns('ticks', columns('symbol', 'price', ...ENVELOPE), options)).toThrow(
      'table ticks has no size column (looked for size, volume, quantity, qty; its columns: symbol, price, ts, ' +
        'run_id, seq, dt, hour): name it with --size-column',
    );
  });
});

describe('namedQuerySql', () => {
  test('event time: the window ends at the latest event time, columns quoted (date and timestamp are keywords)', () => {
    const found = resolveColumns('ticks', columns('index', 'date', 'close', 'volume', ...ENVELOPE), options);
    const sql = namedQuerySql('ohlc', options, found);
    expect(sql).toContain(`from_iso8601_timestamp("date") AS window_time FROM ticks WHERE "date" IS NOT NULL`);
    expect(sql).toContain(
      `window_time >= (SELECT max(from_iso8601_timestamp("date")) FROM ticks) - interval '10' minute`,
    );
    expect(sql).not.toContain('current_timestamp');
  });

  test('arrival time: the partition terms that let Athena skip the hours before the window', () => {
    const sql = namedQuerySql('vwap', { ...options, time: 'arrival' });
    expect(sql).toContain(`dt >= date_format(current_timestamp - interval '10' minute, '%Y-%m-%d')`);
    expect(sql).toContain(`from_iso8601_timestamp(ts) >= current_timestamp - interval '10' minute`);
  });

  test('bad options are refused, naming the option', () => {
    expect(() => namedQuerySql('trades', { ...options, timeColumn: 'Bad-Name' })).toThrow(
      'timeColumn: expected a lowercase Glue name (letters, digits, _), got "Bad-Name"',
    );
    expect(() => namedQuerySql('trades', { ...options, time: 'wall' as never })).toThrow(
      'time: expected event or arrival, got "wall"',
    );
  });
});

describe('terminal output', () => {
  test('a table wider than the terminal gives way in its widest columns, cutting their values with …', () => {
    const long = 'x'.repeat(150);
    const text = textTable(['name', 'value'], [['short', long]], { width: 60 });
    const lines = text.split('\n');
    expect(Math.max(...lines.map((line) => line.length))).toBe(60);
    expect(text).toContain('short');
    expect(text).toContain('x…');
    // A column to give way first shrinks before a wider one.
    const kept = textTable(undefined, [['a reason that matters', 'y'.repeat(30)]], { width: 40, shrinkFirst: [1] });
    expect(kept).toContain('a reason that matters');
    expect(Math.max(...kept.split('\n').map((line) => line.length))).toBeLessThanOrEqual(40);
  });

  test('rows beyond the limit become one line that says how many and how to get them', () => {
    expect(firstRows([1, 2, 3], 3)).toEqual({ shown: [1, 2, 3] });
    expect(firstRows([1, 2, 3, 4], 2)).toEqual({ shown: [1, 2], more: '… 2 more rows, use --format csv' });
  });

  test('values shortened for a table: 2 decimals (4 below 1), timestamps without zero seconds and zone', () => {
    expect(displayValue('15687.392930999998', 'double')).toBe('15687.39');
    expect(displayValue('0.123456', 'double')).toBe('0.1235');
    expect(displayValue('4156963100.0', 'double')).toBe('4156963100.0');
    expect(displayValue('2019-11-05 00:00:00.000 UTC', 'timestamp with time zone')).toBe('2019-11-05 00:00');
    expect(displayValue('2026-12-04 15:39:32.951 UTC', 'timestamp with time zone')).toBe('2026-12-04 15:39:32.951');
    expect(displayValue(null, 'varchar')).toBe('NULL');
  });
});
