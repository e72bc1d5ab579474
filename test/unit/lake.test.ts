import { checkRecord, checkRecords, deadLetterLine, manifestKey, objectKey, segmentLength } from '../../lib/lake';
import { hourPartition } from '../../lib/hour-keys';

const envelope = { ts: '2026-03-01T23:59:59.999Z', run_id: 'r1', seq: 7 };
const check = (value: unknown, maxBytes = 1 << 20) =>
  checkRecord(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), maxBytes);

test('event-time partitions are UTC hours', () => {
  expect(hourPartition(Date.parse('2026-03-01T23:59:59.999Z'))).toBe('dt=2026-03-01/hour=23');
  expect(hourPartition(Date.parse('2026-03-02T00:30:00+02:00'))).toBe('dt=2026-03-01/hour=22');
});

test('object and manifest keys', () => {
  expect(objectKey('raw/', 'ticks', 'dt=2026-03-01/hour=23', 4, '1200')).toBe(
    'raw/ticks/dt=2026-03-01/hour=23/ticks+4+1200.jsonl.gz',
  );
  expect(manifestKey('manifests/', 'ticks', 4, '1200')).toBe('manifests/ticks/4/00000000000000001200.json');
});

test('a valid record keeps its bytes and gives its event time', () => {
  const text = JSON.stringify({ symbol: 'HSI', price: 1.5, ...envelope });
  expect(check(text)).toEqual({ ok: true, line: Buffer.from(text), eventTime: Date.parse(envelope.ts) });
  // JSON spread over lines (\n or \r) becomes one line.
  for (const pretty of [
    JSON.stringify({ symbol: 'HSI', ...envelope }, null, 2),
    JSON.stringify({ symbol: 'HSI', ...envelope }).replace(',', ',\r'),
  ]) {
    const result = check(pretty);
    expect(result.ok && result.line.toString()).toBe(JSON.stringify({ symbol: 'HSI', ...envelope }));
  }
  expect(check({ ...envelope, ts: '2026-03-01T23:59:59+01:00' }).ok).toBe(true);
});

test.each([
  ['not JSON', '{"a": ', /^not JSON/],
  ['an array', '[1,2]', /expected a JSON object, got an array/],
  ['a number', '42', /expected a JSON object, got number/],
  ['null', 'null', /expected a JSON object, got null/],
  ['no ts', { run_id: 'r', seq: 1 }, /missing envelope field ts/],
  ['ts without a zone', { ...envelope, ts: '2026-03-01T10:00:00' }, /ts: expected an ISO-8601 time with a zone/],
  ['ts as a number', { ...envelope, ts: 1_700_000_000_000 }, /ts: expected an ISO-8601/],
  ['ts impossible', { ...envelope, ts: '2026-13-45T10:00:00Z' }, /ts: expected an ISO-8601/],
  ['no run_id', { ts: envelope.ts, seq: 1 }, /missing envelope field run_id/],
  ['empty run_id', { ...envelope, run_id: '' }, /run_id: expected a non-empty string/],
  ['no seq', { ts: envelope.ts, run_id: 'r' }, /missing envelope field seq/],
  ['seq zero', { ...envelope, seq: 0 }, /seq: expected a positive integer, got 0/],
  ['seq as text', { ...envelope, seq: '7' }, /seq: expected a positive integer, got "7"/],
])('%s is a dead letter with its reason', (_name, value, reason) => {
  const result = check(value);
  expect(result.ok).toBe(false);
  expect(!result.ok && result.reason).toMatch(reason);
});

test('empty, oversized and non-UTF-8 values are dead letters', () => {
  expect(checkRecord(null, 10)).toEqual({ ok: false, reason: 'empty value' });
  expect(checkRecord(Buffer.alloc(0), 10)).toEqual({ ok: false, reason: 'empty value' });
  expect(check({ ...envelope, pad: 'x'.repeat(100) }, 64)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/bytes exceeds 64/),
  });
  expect(checkRecord(Buffer.from([0x7b, 0xff, 0x7d]), 100)).toEqual({ ok: false, reason: 'value is not valid UTF-8' });
});

/** What checkRecords says of each value, in checkRecord's terms. */
function verdicts(values: (Buffer | null)[], maxBytes = 1 << 20) {
  const batch = checkRecords(values, maxBytes);
  return values.map((_, index) => {
    const reason = batch.reasons.get(index);
    if (reason !== undefined) return { ok: false, reason };
    const start = batch.starts[index] as number;
    const line = batch.chunk.subarray(start, start + (batch.lengths[index] as number));
    return { ok: true, line, eventTime: batch.eventTimes[index] };
  });
}

const oneByOne = (values: (Buffer | null)[], maxBytes = 1 << 20) => values.map((value) => checkRecord(value, maxBytes));

test('a batch gets the same verdicts and lines as its records one by one', () => {
  const tick = (seq: number, extra: object = {}) =>
    Buffer.from(JSON.stringify({ sym: 'A}{,', ...envelope, seq, ...extra }));
  const ordinary = [tick(1), tick(2, { nested: { deeper: { x: '}' } } }), tick(3)];
  const batches: (Buffer | null)[][] = [
    [],
    ordinary,
    // Each of these sends the batch one by one; the verdicts must not change.
    [...ordinary, tick(4, { list: [1, { a: 2 }] })],
    [...ordinary, Buffer.from(JSON.stringify({ ...envelope }, null, 2))],
    [...ordinary, null, Buffer.alloc(0), Buffer.from([0x7b, 0xff, 0x7d]), tick(5, { pad: 'x'.repeat(200) })],
    [...ordinary, Buffer.from('{"a": '), Buffer.from('[1,2]'), Buffer.from(' {"ts": 1} ')],
    // Valid JSON, refused by the envelope: checked as one array, refused with its reason.
    [...ordinary, tick(6, { seq: 0 }), Buffer.from(JSON.stringify({ run_id: 'r', seq: 1 })), tick(7)],
    // Missing values before a value rewritten on one line.
    [null, tick(8), null, Buffer.from(JSON.stringify({ ...envelope }, null, 2)), tick(9)],
    // One bad value among many good ones.
    [
      ...Array.from({ length: 50 }, (_, index) => tick(10 + index)),
      Buffer.from('{"ts": }'),
      ...Array.from({ length: 50 }, (_, index) => tick(60 + index)),
    ],
  ];
  // Limits below, at and above a value's size, and one that refuses nothing.
  const limits = [ordinary[0]!.length - 1, ordinary[0]!.length, 256, 1 << 20];
  for (const values of batches) {
    for (const limit of limits) expect(verdicts(values, limit)).toEqual(oneByOne(values, limit));
  }
});

test('values that are not JSON alone are refused even when joined they would parse', () => {
  const ts = JSON.stringify(envelope.ts);
  const crafted = [
    // A string spanning two values.
    ['{"a":"}', `{"}`, `{"ts":${ts},"run_id":"r","seq":1},{"ts":${ts},"run_id":"r","seq":2}`],
    // An array spanning two values.
    [`{"a":[{"b":1}`, `{"c":2}]}`, `{"ts":${ts},"run_id":"r","seq":1},{"ts":${ts},"run_id":"r","seq":2}`],
    // An object spanning two values.
    [`{"a":{"b":1}`, `{"c":2}}`, `{"ts":${ts},"run_id":"r","seq":1},{"ts":${ts},"run_id":"r","seq":2}`],
    // Two objects in one value.
    [`{"ts":${ts},"run_id":"r","seq":1},{"ts":${ts},"run_id":"r","seq":2}`],
  ].map((values) => values.map((value) => Buffer.from(value)));
  for (const values of crafted) {
    expect(verdicts(values)).toEqual(oneByOne(values));
    expect(verdicts(values).filter(({ ok }) => ok)).toEqual([]);
  }
});

test('any split of valid JSON into values gets the verdicts of its values one by one', () => {
  // Objects whose strings and nesting hold the separators and brackets a split could confuse.
  const text = Array.from({ length: 6 }, (_, index) =>
    JSON.stringify({ ...envelope, seq: index + 1, s: '},{"', o: { p: { q: '[', r: [] } }, t: '\\"' }),
  ).join(',');
  let seed = 12345;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  for (let round = 0; round < 2000; round++) {
    const cuts = [...new Set(Array.from({ length: 1 + random(8) }, () => random(text.length)))].sort((a, b) => a - b);
    const values = [0, ...cuts].map((from, index) => Buffer.from(text.slice(from, cuts[index] ?? text.length)));
    expect(verdicts(values)).toEqual(oneByOne(values));
  }
});

test('dead letters carry where the record was, its bytes and the reason', () => {
  const text = deadLetterLine('ticks', 2, '41', '1772409599999', Buffer.from('HSI'), Buffer.from('[1]'), 'an array');
  expect(JSON.parse(text)).toEqual({
    topic: 'ticks',
    partition: 2,
    offset: 41,
    timestamp: '2026-03-01T23:59:59.999Z',
    key: 'HSI',
    reason: 'an array',
    value: '[1]',
  });
  const binary = JSON.parse(deadLetterLine('ticks', 0, '1', '0', null, Buffer.from([0xff, 0x00]), 'bad'));
  expect(binary).toMatchObject({ key: null, value_base64: Buffer.from([0xff, 0x00]).toString('base64') });
  expect(binary.value).toBeUndefined();
});

describe('segmentLength', () => {
  const records = (...sizes: number[]) => sizes.map((bytes) => ({ bytes }));
  const limits = { maxRecords: 3, maxBytes: 100 };

  test('takes records up to the record limit or the byte limit, and at least one', () => {
    expect(segmentLength(records(10, 10, 10, 10), limits, false)).toBe(3);
    expect(segmentLength(records(60, 30, 20), limits, false)).toBe(2);
    expect(segmentLength(records(500, 10), limits, false)).toBe(1);
    expect(segmentLength(records(10), limits, false)).toBe(1);
    expect(segmentLength([], limits, false)).toBe(0);
  });

  test('with onlyWhole, a partial segment waits and a whole one is taken', () => {
    expect(segmentLength(records(10, 10), limits, true)).toBe(0);
    expect(segmentLength(records(10, 10, 10), limits, true)).toBe(3);
    expect(segmentLength(records(60, 30, 20), limits, true)).toBe(2);
    expect(segmentLength(records(60, 40), limits, true)).toBe(2);
  });

  test('with onlyWhole, every buffer that starts the same way ends the segment at the same record', () => {
    const stream = records(20, 45, 5, 70, 10, 10, 30, 99, 1, 1);
    const lengths = new Set<number>();
    for (let held = 1; held <= stream.length; held++) {
      const length = segmentLength(stream.slice(0, held), limits, true);
      if (length > 0) lengths.add(length);
    }
    expect([...lengths]).toEqual([3]);
  });
});
