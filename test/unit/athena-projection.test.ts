import type { Table } from '@aws-sdk/client-glue';
import { QueryFailure } from '../../local-aws/athena/engine/errors';
import { keyValues, partitionLocation, tableProjection } from '../../local-aws/athena/engine/projection';

/** Partition projection's properties read as Athena reads them, with no engine or stack. */

const TEMPLATE = 's3://lake/raw/ticks/dt=${dt}/hour=${hour}/';
const NOW = new Date('2026-03-02T05:30:00Z');

function table(parameters: Record<string, string>, keys = ['dt', 'hour']): Table {
  return {
    Name: 'ticks',
    PartitionKeys: keys.map((Name) => ({ Name, Type: 'string' })),
    StorageDescriptor: { Location: 's3://lake/raw/ticks/', Columns: [{ Name: 'symbol', Type: 'string' }] },
    Parameters: { 'projection.enabled': 'true', ...parameters },
  };
}

const ticks = (overrides: Record<string, string> = {}) =>
  table({
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': '2026-02-27,NOW',
    'projection.hour.type': 'integer',
    'projection.hour.range': '0,23',
    'projection.hour.digits': '2',
    'storage.location.template': TEMPLATE,
    ...overrides,
  });

const values = (t: Table) => tableProjection(t)!.keys.map((key) => keyValues(key, NOW));

/** The message of the query failure `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(QueryFailure);
    return (error as QueryFailure).message;
  }
  throw new Error('expected a query failure');
}

test('a table without projection.enabled=true projects nothing', () => {
  expect(tableProjection({ ...ticks(), Parameters: {} })).toBeUndefined();
  expect(tableProjection(ticks({ 'projection.enabled': 'false' }))).toBeUndefined();
  expect(tableProjection(ticks({ 'projection.enabled': ' TRUE ' }))).toBeDefined();
});

test('dt as days up to NOW and hour as a two-digit integer 0-23, located by the template', () => {
  const [dt, hour] = values(ticks());
  expect(dt).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
  expect(hour).toHaveLength(24);
  expect(hour!.slice(0, 3)).toEqual(['00', '01', '02']);
  expect(hour!.at(-1)).toBe('23');
  expect(partitionLocation(tableProjection(ticks())!, ['2026-03-02', '05'])).toBe(
    's3://lake/raw/ticks/dt=2026-03-02/hour=05/',
  );
});

test("without storage.location.template a partition is under the table's location in Hive folders", () => {
  const { 'storage.location.template': _, ...parameters } = ticks().Parameters!;
  const projection = tableProjection(table(parameters))!;
  expect(partitionLocation(projection, ['2026-03-02', '05'])).toBe('s3://lake/raw/ticks/dt=2026-03-02/hour=05/');
});

test('NOW takes an offset; hourly formats step by their unit; interval skips', () => {
  const hourly = table(
    {
      'projection.dt.type': 'date',
      'projection.dt.format': "yyyy-MM-dd'T'HH",
      'projection.dt.range': 'NOW-3HOURS,NOW',
      'projection.dt.interval.unit': 'HOURS',
    },
    ['dt'],
  );
  expect(values(hourly)[0]).toEqual(['2026-03-02T02', '2026-03-02T03', '2026-03-02T04', '2026-03-02T05']);
  const everyOther = table(
    { 'projection.n.type': 'integer', 'projection.n.range': '-3,3', 'projection.n.interval': '2' },
    ['n'],
  );
  expect(values(everyOther)[0]).toEqual(['-3', '-1', '1', '3']);
  const monthly = table(
    { 'projection.m.type': 'date', 'projection.m.format': 'yyyy/MM', 'projection.m.range': '2025/11,NOW' },
    ['m'],
  );
  expect(values(monthly)[0]).toEqual(['2025/11', '2025/12', '2026/01', '2026/02', '2026/03']);
  // Months step as java.time steps them: from the 31st, the day is clamped to each month's last.
  const monthEnds = table(
    {
      'projection.d.type': 'date',
      'projection.d.format': 'yyyy-MM-dd',
      'projection.d.range': '2025-12-31,2026-03-31',
      'projection.d.interval.unit': 'MONTHS',
    },
    ['d'],
  );
  expect(values(monthEnds)[0]).toEqual(['2025-12-31', '2026-01-31', '2026-02-28', '2026-03-31']);
});

test('enum lists its values; injected has none of its own', () => {
  const t = table(
    { 'projection.region.type': 'enum', 'projection.region.values': 'us,eu,ap', 'projection.id.type': 'injected' },
    ['region', 'id'],
  );
  expect(values(t)).toEqual([['us', 'eu', 'ap'], []]);
});

test.each([
  [
    'a missing range',
    { 'projection.hour.range': undefined },
    "INVALID_TABLE_PROPERTY: Column projection for column 'hour' failed. Missing required property: 'projection.hour.range'",
  ],
  [
    'an unknown type',
    { 'projection.hour.type': 'number' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'hour' failed. Property: 'projection.hour.type' needs to be one of enum, integer, date, injected, got 'number'",
  ],
  [
    'a range that is not two integers',
    { 'projection.hour.range': '0-23' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'hour' failed. Property: 'projection.hour.range' needs to be a list of 2 integers, got '0-23'",
  ],
  [
    'a date range not in the format',
    { 'projection.dt.range': '2026/01/01,NOW' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'dt' failed. Property: 'projection.dt.range' needs to be a list of 2 valid dates formatted as 'yyyy-MM-dd' or 'NOW' with an optional offset such as 'NOW-3DAYS', got '2026/01/01,NOW'",
  ],
  [
    'a date that does not exist',
    { 'projection.dt.range': '2026-02-30,NOW' },
    /^INVALID_TABLE_PROPERTY: Column projection for column 'dt' failed\. Property: 'projection\.dt\.range' needs/,
  ],
  [
    'an unknown interval unit',
    { 'projection.dt.interval.unit': 'FORTNIGHTS' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'dt' failed. Property: 'projection.dt.interval.unit' needs to be one of YEARS, MONTHS, WEEKS, DAYS, HOURS, MINUTES, SECONDS, MILLIS, got 'FORTNIGHTS'",
  ],
  [
    'an interval that is not a positive integer',
    { 'projection.hour.interval': '0' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'hour' failed. Property: 'projection.hour.interval' needs to be a positive integer, got '0'",
  ],
  [
    'a partition key with no projection',
    { 'projection.hour.type': undefined },
    "INVALID_TABLE_PROPERTY: Partition projection definition for column: 'hour' missing",
  ],
  [
    'a projection of a column that is no partition key',
    { 'projection.symbol.type': 'enum' },
    "INVALID_TABLE_PROPERTY: Partition projection can't be defined for non partition column: 'symbol'",
  ],
  [
    'a template without a key',
    { 'storage.location.template': 's3://lake/raw/ticks/dt=${dt}/' },
    "INVALID_TABLE_PROPERTY: Partition projection location template: s3://lake/raw/ticks/dt=${dt}/ is missing partition column: 'hour' placeholder",
  ],
] as [string, Record<string, string | undefined>, string | RegExp][])(
  '%s is refused with Athena’s error',
  (_what, overrides, expected) => {
    const t = ticks();
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) delete t.Parameters![key];
      else t.Parameters![key] = value;
    }
    const message = failure(() => tableProjection(t));
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
  },
);

test('a format finer than a day needs its interval unit; enabled projection needs partition keys', () => {
  expect(
    failure(() =>
      tableProjection(
        table(
          { 'projection.dt.type': 'date', 'projection.dt.format': 'yyyy-MM-dd-HH', 'projection.dt.range': 'NOW,NOW' },
          ['dt'],
        ),
      ),
    ),
  ).toBe(
    "INVALID_TABLE_PROPERTY: Column projection for column 'dt' failed. Property: 'projection.dt.interval.unit' needs to be set when 'projection.dt.format' ('yyyy-MM-dd-HH') is finer than a day",
  );
  expect(failure(() => tableProjection(table({}, [])))).toBe(
    "INVALID_TABLE_PROPERTY: Partition projection can't be enabled when no partition columns are defined.",
  );
});

test('a projection of more than a million values is refused, not enumerated', () => {
  const huge = table({ 'projection.n.type': 'integer', 'projection.n.range': '0,9999999999' }, ['n']);
  expect(failure(() => values(huge))).toMatch(/^HIVE_EXCEEDED_PARTITION_LIMIT: Partition projection of column 'n'/);
});
