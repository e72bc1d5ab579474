import {
  HOUR_MS,
  hourFolder,
  hourInKey,
  hourKey,
  hourPartition,
  hourStart,
  isLakeHour,
  lakeHourOf,
  nextHour,
  parseLakeHour,
} from '../../lib/hour-keys';

test('an instant falls in its UTC hour, whatever its offset', () => {
  expect(lakeHourOf(Date.parse('2026-03-01T23:59:59.999Z'))).toEqual({ dt: '2026-03-01', hour: '23' });
  expect(lakeHourOf(Date.parse('2026-03-02T00:30:00+02:00'))).toEqual({ dt: '2026-03-01', hour: '22' });
  expect(hourPartition(Date.parse('2026-03-02T00:00:00Z'))).toBe('dt=2026-03-02/hour=00');
  // Formatted once per hour: a second call answers the same from the cache.
  expect(hourPartition(Date.parse('2026-03-02T00:59:00Z'))).toBe('dt=2026-03-02/hour=00');
  expect(hourKey(Date.parse('2026-03-01T09:15:00Z'))).toBe('2026-03-0109');
});

test('hour arithmetic crosses days, months and years', () => {
  expect(nextHour({ dt: '2025-12-31', hour: '23' })).toEqual({ dt: '2026-01-01', hour: '00' });
  expect(nextHour({ dt: '2024-02-28', hour: '23' })).toEqual({ dt: '2024-02-29', hour: '00' });
  expect(hourStart({ dt: '2026-03-01', hour: '05' })).toBe(Date.parse('2026-03-01T05:00:00Z'));
  expect(hourStart(nextHour({ dt: '2026-03-01', hour: '05' })) - hourStart({ dt: '2026-03-01', hour: '05' })).toBe(
    HOUR_MS,
  );
});

test('only real hours are lake hours', () => {
  expect(isLakeHour({ dt: '2024-02-29', hour: '23' })).toBe(true);
  expect(isLakeHour({ dt: '2023-02-29', hour: '00' })).toBe(false);
  expect(isLakeHour({ dt: '2024-01-01', hour: '24' })).toBe(false);
  expect(isLakeHour({ dt: '2024-1-01', hour: '01' })).toBe(false);
  expect(isLakeHour({ dt: '2024-01-01', hour: '1' })).toBe(false);
});

test('hours read from folders, keys and flags', () => {
  const hour = { dt: '2024-01-02', hour: '03' };
  expect(hourFolder(hour)).toBe('dt=2024-01-02/hour=03');
  expect(hourInKey('raw/ticks/dt=2024-01-02/hour=03/ticks+0+00000000000000000000.jsonl.gz')).toEqual(hour);
  expect(hourInKey('dt=2024-01-02/hour=03')).toEqual(hour);
  expect(hourInKey('raw/ticks/dt=2024-01-02/hour=030/x')).toBeUndefined();
  expect(hourInKey('raw/ticks/dt=2024-02-30/hour=03/x')).toBeUndefined();
  for (const text of ['2024-01-02T03', '2024-01-02/03', '2024-01-02 03', 'dt=2024-01-02/hour=03', ' 2024-01-02T03 ']) {
    expect(parseLakeHour(text)).toEqual(hour);
  }
  for (const text of ['2024-01-02', '2024-01-02T3', '2024-01-02T25', '2024-13-02T03', 'hour=03']) {
    expect(parseLakeHour(text)).toBeUndefined();
  }
});
