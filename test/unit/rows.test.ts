import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../lib/errors';
import {
  convertForSending,
  convertRow,
  fieldsHead,
  inferSchema,
  isoClock,
  normaliseFieldName,
  parseEventTime,
  tickValueCloser,
  tickValueEncoder,
} from '../../lib/rows';

describe('normaliseFieldName', () => {
  test.each([
    ['Adj Close', 'adj_close'],
    ['CloseUSD', 'close_usd'],
    ['openInterest', 'open_interest'],
    ['\uFEFFIndex', 'index'],
    ['  Volume (shares) ', 'volume_shares'],
    ['P/E-Ratio', 'p_e_ratio'],
    ['HTTPStatus', 'http_status'],
  ])('%j → %j', (name, field) => expect(normaliseFieldName(name)).toBe(field));
});

const header = ['Index', 'Date', 'Open', 'Adj Close', 'Volume', 'CloseUSD'];
const sample = [
  ['HSI', '1986-12-31', '2568.300049', '2568.300049', '0.0', '333.87900637'],
  ['NYA', '1965-12-31', '528.690002', '528.690002', '0', '528.690002'],
];

describe('inferSchema', () => {
  test('normalises names, finds the symbol, tells numbers from text', () => {
    const schema = inferSchema('f.csv', header, sample);
    expect(schema.fields).toEqual(['index', 'date', 'open', 'adj_close', 'volume', 'close_usd']);
    expect(schema.numeric).toEqual([false, false, true, true, true, true]);
    expect(schema.symbolIndex).toBe(0);
  });

  test('a column that collides with the envelope is renamed, duplicates made unique', () => {
    const schema = inferSchema('f.csv', ['symbol', 'ts', 'Price', 'price'], [['A', 'x', '1', '2']]);
    expect(schema.fields).toEqual(['symbol', 'source_ts', 'price', 'price_4']);
  });

  test('an explicit symbol column is found by header or field name', () => {
    expect(inferSchema('f.csv', ['Ticker Code', 'px'], [], { symbolColumn: 'ticker_code' }).symbolIndex).toBe(0);
  });

  test.each([
    [['only'], {}, 'f.csv: unreadable header ["only"]: expected a first line naming at least two columns'],
    [['a', 'b'], {}, 'f.csv: no symbol column: the header (a, b) has none of symbol, ticker, index'],
    [['a', 'b'], { symbolColumn: 'sym' }, "f.csv: no symbol column 'sym'; the header has a, b"],
    [['symbol', 'b'], { timestampColumn: 'time' }, "f.csv: no timestamp column 'time'; the header has symbol, b"],
  ])('%j %j fails with a non-retryable InvalidInput', (columns, options, message) => {
    let thrown: unknown;
    try {
      inferSchema('f.csv', columns, [], options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    expect(thrown).toMatchObject({ type: ErrorType.InvalidInput, nonRetryable: true });
    expect((thrown as Error).message).toContain(message);
  });
});

describe('convertRow', () => {
  const schema = inferSchema('f.csv', header, sample);

  test('types numbers, keeps text, keys by symbol; an empty number is null', () => {
    expect(convertRow(schema, ['HSI', '1986-12-31', '2568.3', '-1e3', '', '+.5'])).toEqual({
      ok: true,
      key: 'HSI',
      fields: { index: 'HSI', date: '1986-12-31', open: 2568.3, adj_close: -1000, volume: null, close_usd: 0.5 },
    });
  });

  test.each([
    [['HSI', 'd', '1', '1', '1'], 'expected 6 columns, found 5'],
    [['HSI', 'd', '1', '1', '1', '1', '1'], 'expected 6 columns, found 7'],
    [['HSI', 'd', '1,5', '1', '1', '1'], "column Open: '1,5' is not a number"],
    [['HSI', 'd', 'NaN', '1', '1', '1'], "column Open: 'NaN' is not a number"],
    [['HSI', 'd', 'Infinity', '1', '1', '1'], "column Open: 'Infinity' is not a number"],
    [['HSI', 'd', '1e400', '1', '1', '1'], "column Open: '1e400' is too large for a double"],
    [['HSI', 'd', '-1.5E+309', '1', '1', '1'], "column Open: '-1.5E+309' is too large for a double"],
    [['HSI', 'd', '1e-400', '1', '1', '1'], "column Open: '1e-400' is too small for a double (it would be 0)"],
    [
      ['HSI', 'd', '1', '1', '12345678901234567890', '1'],
      "column Volume: '12345678901234567890' is an integer a double cannot hold exactly (beyond 2^53)",
    ],
    [
      ['HSI', 'd', '1', '1', '9007199254740993', '1'],
      "column Volume: '9007199254740993' is an integer a double cannot hold exactly (beyond 2^53)",
    ],
    [['HSI', 'd', '1e', '1', '1', '1'], "column Open: '1e' is not a number"],
    [['HSI', 'd', '0x10', '1', '1', '1'], "column Open: '0x10' is not a number"],
    [[' ', 'd', '1', '1', '1', '1'], 'empty symbol in column Index'],
  ])('%j is rejected: %s', (record, reason) => {
    expect(convertRow(schema, record)).toEqual({ ok: false, reason });
  });

  test('numeric edges: -0 is 0, exponents, the largest exact integer, decimals rounded to the nearest double', () => {
    const typed = (value: string) => {
      const outcome = convertRow(schema, ['HSI', 'd', value, '1', '1', '1']);
      if (!outcome.ok) throw new Error(outcome.reason);
      return outcome.fields.open;
    };
    expect(Object.is(typed('-0'), 0)).toBe(true);
    expect(Object.is(typed('-0.0e5'), 0)).toBe(true);
    expect(typed('0e-400')).toBe(0);
    expect(typed('1E3')).toBe(1000);
    expect(typed('2.5e-3')).toBe(0.0025);
    expect(typed('1.7976931348623157e308')).toBe(Number.MAX_VALUE);
    expect(typed('5e-324')).toBe(Number.MIN_VALUE);
    expect(typed('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(typed('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
    expect(typed('3.14159265358979323846264338327950288')).toBe(Math.PI);
    expect(typed('12345678901234567890.5')).toBe(Number('12345678901234567890.5'));
    expect(typed('9007199254740992')).toBe(2 ** 53);
    expect(typed('100000000000000000000')).toBe(1e20);
  });

  test('with a timestamp column, the event time comes along; a bad one is a reason', () => {
    const timed = inferSchema('f.csv', ['symbol', 'time', 'price'], [['A', '2024-01-02T10:00:00Z', '1']], {
      timestampColumn: 'time',
    });
    expect(convertRow(timed, ['A', '2024-01-02T10:00:00.250Z', '1'])).toMatchObject({
      ok: true,
      eventTime: Date.parse('2024-01-02T10:00:00.250Z'),
    });
    expect(convertRow(timed, ['A', 'yesterday', '1'])).toEqual({
      ok: false,
      reason: "column time: 'yesterday' is not a timestamp",
    });
  });
});

describe('parseEventTime', () => {
  test.each([
    ['2024-01-02', Date.UTC(2024, 0, 2)],
    ['2024-01-02T03:04:05.678Z', Date.UTC(2024, 0, 2, 3, 4, 5, 678)],
    ['1704164645', 1704164645000],
    ['1704164645123', 1704164645123],
    ['not a time', undefined],
    ['1e400', undefined],
    ['9e15', undefined],
  ])('%j → %j', (text, millis) => expect(parseEventTime(text)).toBe(millis));
});

describe('tickValueEncoder', () => {
  const ts = '2026-12-06T01:02:03.004Z';
  test.each<[string, Record<string, string | number | null>]>([
    ['numbers, text and nulls', { symbol: 'HSI', price: 2568.300049, volume: 0, note: null }],
    ['text that JSON must escape', { symbol: 'A"B\\C\n\u2028\u0000', side: '</script>' }],
    ['names that look like prototypes', { ['__proto__']: 'x', constructor: 1, toString: 'y' }],
    ['no fields', {}],
  ])('spells the JSON of {...fields, ts, run_id, seq}: %s', (_, fields) => {
    const runId = 'run "1"\\';
    const value = tickValueEncoder(runId)(fields, ts, 42);
    expect(value).toBe(JSON.stringify({ ...fields, ts, run_id: runId, seq: 42 }));
    expect(Object.keys(JSON.parse(value) as object)).toEqual([...Object.keys(fields), 'ts', 'run_id', 'seq']);
  });
});

describe('fieldsHead and tickValueCloser (the parser thread starts a value, the activity ends it)', () => {
  const ts = '2026-12-06T01:02:03.004Z';
  test.each<[string, Record<string, string | number | null>]>([
    ['numbers, text and nulls', { symbol: 'HSI', price: 2568.300049, volume: 0, note: null }],
    ['text that JSON must escape', { symbol: 'A"B\\C\n\u2028\u0000', side: '</script>' }],
    ['names that look like prototypes or indexes', { ['__proto__']: 'x', constructor: 1, '2': 'two', '1': 'one' }],
    ['no fields', {}],
  ])('the same bytes as tickValueEncoder and JSON.stringify: %s', (_, fields) => {
    const runId = 'run "1"\\';
    const close = tickValueCloser(runId);
    for (const [at, seq] of [
      [ts, 1],
      [ts, 2],
      ['2026-12-06T01:02:03.005Z', 3],
    ] as const) {
      const value = close(fieldsHead(fields), at, seq);
      expect(value).toBe(tickValueEncoder(runId)(fields, at, seq));
      expect(value).toBe(JSON.stringify({ ...fields, ts: at, run_id: runId, seq }));
    }
  });

  test('convertForSending: the key, value head and event time of a good row; the reason and text of a bad one', () => {
    const schema = inferSchema('t.csv', ['Symbol', 'Time', 'Price'], [['A', '2024-01-02', '1']], {
      timestampColumn: 'Time',
    });
    expect(convertForSending(schema, ['A', '2024-01-02', '1.50'], 'A,2024-01-02,1.50\r\n')).toEqual({
      ok: true,
      key: 'A',
      head: '{"symbol":"A","time":"2024-01-02","price":1.5,',
      eventTime: Date.parse('2024-01-02T00:00:00Z'),
    });
    const bad = ['B', '2024-01-02', 'x'];
    expect(convertForSending(schema, bad, 'B,2024-01-02,x\n')).toEqual({
      ok: false,
      reason: (convertRow(schema, bad) as { reason: string }).reason,
      raw: 'B,2024-01-02,x',
    });
    const good = convertRow(schema, ['A', '2024-01-02', '1.50']);
    expect(good.ok && tickValueCloser('r')(fieldsHead(good.fields), ts, 7)).toBe(
      tickValueEncoder('r')((good as { fields: Record<string, number> }).fields, ts, 7),
    );
  });
});

describe('isoClock', () => {
  test('tells the time now, formatted as toISOString does', () => {
    const now = isoClock();
    const before = Date.now();
    const text = now();
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(text)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(text)).toBeLessThanOrEqual(Date.now());
  });

  test('moves with the clock', async () => {
    const now = isoClock();
    const first = now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(Date.parse(now())).toBeGreaterThan(Date.parse(first));
  });
});
