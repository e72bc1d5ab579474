import {
  BIGINT,
  DATE,
  DECIMAL,
  DOUBLE,
  decimalValue,
  dateValue,
  FLOAT,
  HUGEINT,
  intervalValue,
  INTEGER,
  INTERVAL,
  LIST,
  listValue,
  MAP,
  mapValue,
  STRUCT,
  structValue,
  TIMESTAMP,
  TIMESTAMPTZ,
  timestampTZValue,
  timestampValue,
  VARCHAR,
  BLOB,
  blobValue,
  DuckDBVarCharType,
} from '@duckdb/node-api';
import { duckDbType } from '../../local-aws/athena/engine/glue-types';
import { javaDoubleToString, javaFloatToString, renderValue, resultColumn } from '../../local-aws/athena/engine/render';

test.each([
  ['string', 'VARCHAR'],
  ['int', 'INTEGER'],
  ['bigint', 'BIGINT'],
  ['double', 'DOUBLE'],
  ['float', 'FLOAT'],
  ['boolean', 'BOOLEAN'],
  ['date', 'DATE'],
  ['timestamp', 'TIMESTAMP'],
  ['varchar(10)', 'VARCHAR'],
  ['decimal(10,2)', 'DECIMAL(10,2)'],
  ['decimal', 'DECIMAL(10,0)'],
  ['array<string>', 'VARCHAR[]'],
  ['map<string,array<int>>', 'MAP(VARCHAR, INTEGER[])'],
  ['struct<a:int,`B c`:struct<x:double>>', 'STRUCT("a" INTEGER, "b c" STRUCT("x" DOUBLE))'],
  ['STRUCT< a : INT >', 'STRUCT("a" INTEGER)'],
])('Glue type %s is DuckDB %s', (glue, duck) => {
  expect(duckDbType(glue)).toBe(duck);
});

test.each([['uniontype<int,string>'], ['array<int'], ['decimal(40,2)'], ['struct<a int>']])(
  'Glue type %s is refused with its position',
  (glue) => {
    expect(() => duckDbType(glue)).toThrow(/Glue type '.*' is not valid at character \d+/);
  },
);

test.each([
  [1.5, '1.5'],
  [123, '123.0'],
  [0.001, '0.001'],
  [0.0001, '1.0E-4'],
  [1e7, '1.0E7'],
  [9999999.5, '9999999.5'],
  [12345678.9, '1.23456789E7'],
  [-2.5e-10, '-2.5E-10'],
  [0, '0.0'],
  [-0, '-0.0'],
  [NaN, 'NaN'],
  [-Infinity, '-Infinity'],
  [0.1 + 0.2, '0.30000000000000004'],
])('Java renders double %p as %s', (value, text) => {
  expect(javaDoubleToString(value)).toBe(text);
});

test('floats render with their own shortest digits', () => {
  expect(javaFloatToString(Math.fround(0.1))).toBe('0.1');
  expect(javaFloatToString(Math.fround(16777216))).toBe('1.6777216E7');
});

test('values render as Athena writes them', () => {
  const micros = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 123)) * 1000n + 456n;
  expect(renderValue(TIMESTAMP, timestampValue(micros))).toBe('2024-01-02 03:04:05.123');
  expect(renderValue(TIMESTAMPTZ, timestampTZValue(micros))).toBe('2024-01-02 03:04:05.123 UTC');
  expect(renderValue(TIMESTAMP, timestampValue(-1000n))).toBe('1969-12-31 23:59:59.999');
  expect(renderValue(TIMESTAMP, timestampValue(-1n))).toBe('1969-12-31 23:59:59.999');
  // Outside years 0000-9999 (where the fast ISO path does not apply) and beyond 2^53 microseconds.
  expect(renderValue(TIMESTAMP, timestampValue(BigInt(Date.UTC(10000, 0, 1)) * 1000n))).toBe(
    '10000-01-01 00:00:00.000',
  );
  expect(renderValue(TIMESTAMP, timestampValue(BigInt(Date.UTC(-1, 11, 31, 23, 59, 59, 999)) * 1000n))).toBe(
    '-0001-12-31 23:59:59.999',
  );
  expect(renderValue(TIMESTAMP, timestampValue(BigInt(Date.UTC(9999, 11, 31, 23, 59, 59, 999)) * 1000n + 999n))).toBe(
    '9999-12-31 23:59:59.999',
  );
  expect(renderValue(DATE, dateValue(19724))).toBe('2024-01-02');
  expect(renderValue(DECIMAL(10, 2), decimalValue(150n, 10, 2))).toBe('1.50');
  expect(renderValue(DOUBLE, 1e7)).toBe('1.0E7');
  expect(renderValue(BIGINT, 9007199254740993n)).toBe('9007199254740993');
  expect(renderValue(VARCHAR, 'a,"b"')).toBe('a,"b"');
  expect(renderValue(VARCHAR, null)).toBeNull();
  expect(renderValue(INTERVAL, intervalValue(0, 1, 3_723_500_000n))).toBe('1 01:02:03.500');
  expect(renderValue(INTERVAL, intervalValue(14, 0, 0n))).toBe('1-2');
  expect(renderValue(BLOB, blobValue(new Uint8Array([0x68, 0x69])))).toBe('68 69');
  expect(renderValue(LIST(DOUBLE), listValue([1.5, null, 2]))).toBe('[1.5, null, 2.0]');
  expect(renderValue(MAP(VARCHAR, INTEGER), mapValue([{ key: 'a', value: 1 }]))).toBe('{a=1}');
  const row = STRUCT({ x: INTEGER, y: LIST(VARCHAR) });
  expect(renderValue(row, structValue({ x: 1, y: listValue(['p', 'q']) }))).toBe('{x=1, y=[p, q]}');
});

test("result columns carry Athena's type names, precision and scale", () => {
  expect(resultColumn('v', VARCHAR)).toEqual({
    name: 'v',
    type: 'varchar',
    precision: 2147483647,
    scale: 0,
    nullable: 'UNKNOWN',
  });
  expect(resultColumn('n', HUGEINT)).toMatchObject({ type: 'bigint', precision: 19 });
  expect(resultColumn('d', DECIMAL(12, 3))).toMatchObject({ type: 'decimal', precision: 12, scale: 3 });
  expect(resultColumn('f', FLOAT).type).toBe('real');
  expect(resultColumn('t', TIMESTAMPTZ).type).toBe('timestamp with time zone');
  expect(resultColumn('a', LIST(INTEGER)).type).toBe('array');
  expect(resultColumn('r', STRUCT({ x: INTEGER })).type).toBe('row');
  expect(resultColumn('m', MAP(VARCHAR, INTEGER)).type).toBe('map');
  expect(resultColumn('j', new DuckDBVarCharType('JSON')).type).toBe('json');
});
