import { gzipSync } from 'node:zlib';
import { inferCsv } from '../../local-aws/glue/crawler/csv';
import { UnreadableObjectError } from '../../local-aws/glue/crawler/errors';
import { exclusionMatcher, isIgnoredName } from '../../local-aws/glue/crawler/exclusions';
import { inferJson } from '../../local-aws/glue/crawler/json';
import { gunzipPrefix } from '../../local-aws/glue/crawler/sample';
import { mergeTypes, primitive, renderType, toColumns, type Field } from '../../local-aws/glue/crawler/schema';

const columns = (fields: Field[]) => Object.fromEntries(toColumns(fields).map((column) => [column.Name, column.Type]));

function json(text: string, complete = true) {
  const outcome = inferJson(text, complete);
  if (outcome.kind !== 'json') throw new Error(`expected JSON, got ${JSON.stringify(outcome)}`);
  return outcome;
}

function csv(text: string, complete = true) {
  const outcome = inferCsv(Buffer.from(text), complete);
  if (outcome.kind !== 'csv') throw new Error(`expected CSV, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe('JSON type inference', () => {
  test('a tick record: strings stay strings (timestamps too), small integers are int, fractions double', () => {
    const outcome = json(
      '{"ts":"2024-01-02T03:04:05.000Z","run_id":"r1","seq":1,"symbol":"NYA","open":1.5,"volume":123}\n',
    );
    expect(toColumns(outcome.fields)).toEqual([
      { Name: 'ts', Type: 'string' },
      { Name: 'run_id', Type: 'string' },
      { Name: 'seq', Type: 'int' },
      { Name: 'symbol', Type: 'string' },
      { Name: 'open', Type: 'double' },
      { Name: 'volume', Type: 'int' },
    ]);
    expect(outcome.records).toBe(1);
  });

  test('numbers are typed by how they are written: 32-bit int, bigint beyond, double with a fraction or exponent', () => {
    const outcome = json(
      [
        '{"a":2147483647,"b":2147483648,"c":-2147483649,"d":1.0,"e":1e3,"f":9223372036854775807,"g":99999999999999999999}',
      ].join('\n'),
    );
    expect(columns(outcome.fields)).toEqual({
      a: 'int',
      b: 'bigint',
      c: 'bigint',
      d: 'double',
      e: 'double',
      f: 'bigint',
      g: 'double',
    });
  });

  test('widening across records: int+bigint is bigint, int+double is double, other conflicts are string', () => {
    const outcome = json(
      ['{"n":1,"x":1,"s":1,"b":true,"z":null}', '{"n":4156963100,"x":2.5,"s":"one","b":1}', '{"n":2,"x":3}'].join('\n'),
    );
    expect(columns(outcome.fields)).toEqual({ n: 'bigint', x: 'double', s: 'string', b: 'string', z: 'string' });
    expect(outcome.records).toBe(3);
  });

  test('a null is replaced by the first type seen for the field', () => {
    const outcome = json('{"v":null}\n{"v":7}\n{"v":null}\n');
    expect(columns(outcome.fields)).toEqual({ v: 'int' });
  });

  test('objects become structs with lowercased names, arrays arrays of the merged element type', () => {
    const outcome = json(
      [
        '{"Quote":{"Bid":1.5,"Ask":2,"Venue":{"Code":"X"}},"tags":["a","b"],"levels":[1,2.5],"empty":[],"rows":[{"p":1},{"q":"x"}]}',
        '{"quote":{"bid":1,"size":10}}',
      ].join('\n'),
    );
    expect(columns(outcome.fields)).toEqual({
      quote: 'struct<bid:double,ask:int,venue:struct<code:string>,size:int>',
      tags: 'array<string>',
      levels: 'array<double>',
      empty: 'array<string>',
      rows: 'array<struct<p:int,q:string>>',
    });
  });

  test('a field repeated with another case is one column', () => {
    expect(columns(json('{"Symbol":"A","symbol":1}').fields)).toEqual({ symbol: 'string' });
  });

  test('a document spanning lines is one record; a top-level array is the single column `array`', () => {
    expect(json('{\n  "a": 1,\n  "b": {\n    "c": "x"\n  }\n}\n').records).toBe(1);
    expect(columns(json('[{"a":1},{"a":2,"b":"x"}]').fields)).toEqual({ array: 'array<struct<a:int,b:string>>' });
  });

  test('a sample that cuts the last record keeps the whole records before it', () => {
    const outcome = json('{"a":1}\n{"a":2}\n{"a":3,"b":"trunc', false);
    expect(outcome.records).toBe(2);
    expect(columns(outcome.fields)).toEqual({ a: 'int' });
    expect(outcome.consumed).toBe('{"a":1}\n{"a":2}'.length);
  });

  test('a sample cut inside its first record asks for more; a whole object cut short is not JSON', () => {
    expect(inferJson('{"a":"very long', false)).toEqual({ kind: 'incomplete' });
    expect(inferJson('{"a":"very long', true)).toMatchObject({ kind: 'not-json' });
  });

  test('a sample cut where the rest reads as a syntax error (a number cut at its dot) drops the cut record', () => {
    // Seen in CI: a 1 MB sample of gzip JSON Lines ended in `"price":0.`, and the object was skipped as not JSON.
    for (const cut of ['{"a":1,"p":0.', '{"a":1,"p":1e', '{"a":1,"p":-', '{"a":1,"b":tr']) {
      const outcome = inferJson(`{"a":1,"p":0.5}\n${cut}`, false);
      expect(outcome).toMatchObject({ kind: 'json', records: 1, consumed: '{"a":1,"p":0.5}'.length });
    }
    // The whole object, or an error before the sample's last line, is still not JSON.
    expect(inferJson('{"a":1,"p":0.5}\n{"a":1,"p":0.', true)).toMatchObject({ kind: 'not-json' });
    expect(inferJson('{"a":1,,}\n{"a":1,"p":0.', false)).toMatchObject({ kind: 'not-json' });
  });

  test('syntax errors and scalar records are not JSON, and the reason names the line', () => {
    expect(inferJson('{"a":1}\n{"a":2,}\n', true)).toEqual({
      kind: 'not-json',
      reason: expect.stringMatching(/line 2/),
    });
    expect(inferJson('{"a":1}\n42\n', true)).toEqual({
      kind: 'not-json',
      reason: expect.stringMatching(/must be an object or an array \(line 2\)/),
    });
    expect(inferJson('{"a":1} trailing', true)).toMatchObject({ kind: 'not-json' });
  });

  test('escaped field names are decoded before lowercasing', () => {
    expect(columns(json('{"Na\\u006De":"x","q\\"t":1}').fields)).toEqual({ name: 'string', 'q"t': 'int' });
  });
});

describe('CSV classification', () => {
  test('a header is recognised when every header cell is a string and some data column is not', () => {
    const outcome = csv('Symbol,Price,Volume,Listed\nNYA,1.5,100,true\nIXIC,2.25,200,false\nGDAXI,3,300,true\n');
    expect(outcome.format).toEqual({ delimiter: ',', header: true, quoted: false });
    expect(columns(outcome.fields)).toEqual({ symbol: 'string', price: 'double', volume: 'bigint', listed: 'boolean' });
    expect(outcome.records).toBe(3);
  });

  test('without a header the columns are col0, col1, ... and the first row is data', () => {
    const outcome = csv('NYA|1.5|100\nIXIC|2.25|200\nGDAXI|3.0|300\n');
    expect(outcome.format).toEqual({ delimiter: '|', header: false, quoted: false });
    expect(columns(outcome.fields)).toEqual({ col0: 'string', col1: 'double', col2: 'bigint' });
    expect(outcome.records).toBe(3);
  });

  test('all-string data is not different enough from the first row: no header', () => {
    const outcome = csv('name,city\nann,paris\nbob,rome\n');
    expect(outcome.format.header).toBe(false);
    expect(columns(outcome.fields)).toEqual({ col0: 'string', col1: 'string' });
    expect(outcome.records).toBe(3);
  });

  test('a header cell of 150 characters or more (except the last) is not a header', () => {
    const long = 'x'.repeat(150);
    expect(csv(`${long},b\n1,2\n3,4\n`).format.header).toBe(false);
    expect(csv(`a,${long}\n1,2\n3,4\n`).format.header).toBe(true);
    expect(csv(`${'x'.repeat(149)},b\n1,2\n3,4\n`).format.header).toBe(true);
  });

  test('a numeric header cell is not a header; a trailing delimiter leaves an empty last header cell', () => {
    expect(csv('a,2024\n1,2\n3,4\n').format.header).toBe(false);
    const trailing = csv('a,b,\n1,2,\n3,4,\n');
    expect(trailing.format.header).toBe(true);
    expect(toColumns(trailing.fields).map((column) => column.Name)).toEqual(['a', 'b', 'col2']);
  });

  test('tab, semicolon and Ctrl-A delimiters', () => {
    expect(csv('a\tb\n1\t2\n3\t4\n').format.delimiter).toBe('\t');
    expect(csv('a;b\n1;2\n3;4\n').format.delimiter).toBe(';');
    expect(csv('a\u0001b\n1\u00012\n3\u00014\n').format.delimiter).toBe('\u0001');
  });

  test('quoted fields are detected, and a delimiter inside quotes does not split', () => {
    const outcome = csv('name,amount\n"Smith, J",10\n"Doe, A",20\n');
    expect(outcome.format).toEqual({ delimiter: ',', header: true, quoted: true });
    expect(columns(outcome.fields)).toEqual({ name: 'string', amount: 'bigint' });
  });

  test('one column, one row, or ragged rows are not CSV', () => {
    expect(inferCsv(Buffer.from('just text\nmore text\n'), true)).toMatchObject({ kind: 'not-csv' });
    expect(inferCsv(Buffer.from('a,b\n'), true)).toMatchObject({ kind: 'not-csv' });
    expect(inferCsv(Buffer.from('a,b\n1,2,3\n4\n'), true)).toMatchObject({ kind: 'not-csv' });
  });

  test('a sample cut mid-line drops the partial line', () => {
    const outcome = csv('a,b\n1,2\n3,4\n5,"unfinished', false);
    expect(outcome.records).toBe(2);
  });

  test('at most 1000 records are read; the consumed bytes stop at the last of them', () => {
    const text = `a,b\n${Array.from({ length: 2000 }, (_, i) => `${i},x`).join('\n')}\n`;
    const outcome = csv(text);
    expect(outcome.records).toBe(1000);
    expect(outcome.consumedBytes).toBeLessThan(text.length / 2 + 10);
    expect(outcome.consumedBytes).toBeGreaterThan(text.length / 3);
  });
});

describe('schema merging', () => {
  test('numeric widening and conflicts', () => {
    const merged = (a: Parameters<typeof primitive>[0], b: Parameters<typeof primitive>[0]) =>
      renderType(mergeTypes(primitive(a), primitive(b)));
    expect(merged('int', 'bigint')).toBe('bigint');
    expect(merged('bigint', 'double')).toBe('double');
    expect(merged('float', 'float')).toBe('float');
    expect(merged('float', 'int')).toBe('double');
    expect(merged('date', 'timestamp')).toBe('timestamp');
    expect(merged('boolean', 'int')).toBe('string');
    expect(renderType(mergeTypes({ kind: 'array', element: primitive('int') }, primitive('int')))).toBe('string');
    expect(
      renderType(mergeTypes({ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 6, scale: 4 })),
    ).toBe('decimal(12,4)');
  });
});

describe('exclusions and ignored names', () => {
  test('Glue glob semantics: * stays in a folder, ** crosses folders wherever it stands', () => {
    const excluded = exclusionMatcher(['**.csv', 'dlq/**', 'departments/market*', 'employees/*.txt']);
    expect(excluded('a.csv')).toBe(true);
    expect(excluded('x/y/a.csv')).toBe(true);
    expect(excluded('x/a.json')).toBe(false);
    expect(excluded('dlq/ticks/dt=2024-01-01/a.jsonl.gz')).toBe(true);
    expect(excluded('departments/market-us.json')).toBe(true);
    expect(excluded('departments/finance.json')).toBe(false);
    expect(excluded('employees/juan.txt')).toBe(true);
    expect(excluded('employees/sub/juan.txt')).toBe(false);
  });

  test('the documented partition example, braces, negated brackets and leading dots', () => {
    const excluded = exclusionMatcher(['2015/01/{[!0],0[8-9]}**', '2015/0[2-9]/**', '2015/1[0-2]/**']);
    expect(excluded('2015/01/07/data.json')).toBe(false);
    expect(excluded('2015/01/08/data.json')).toBe(true);
    expect(excluded('2015/01/15/data.json')).toBe(true);
    expect(excluded('2015/03/01/data.json')).toBe(true);
    expect(excluded('2015/12/31/data.json')).toBe(true);
    expect(exclusionMatcher(['myfolder**'])('myfolder/mydata.txt')).toBe(true);
    expect(exclusionMatcher(['*.{csv,avro}'])('a.avro')).toBe(true);
    expect(exclusionMatcher(['*'])('.hidden')).toBe(true);
    expect(exclusionMatcher([])('anything')).toBe(false);
  });

  test("Hadoop's hidden and bookkeeping names are never crawled", () => {
    expect(isIgnoredName('dt=2024-01-01/_SUCCESS')).toBe(true);
    expect(isIgnoredName('dt=2024-01-01/.part-0.crc')).toBe(true);
    expect(isIgnoredName('_temporary/0/part-0.json')).toBe(true);
    expect(isIgnoredName('dt=2024-01-01_$folder$')).toBe(true);
    expect(isIgnoredName('dt=2024-01-01/part-0.json')).toBe(false);
  });
});

describe('gzip sampling', () => {
  const lines = Array.from({ length: 200_000 }, (_, index) =>
    JSON.stringify({ seq: index, pad: `${index}`.repeat(3) }),
  );
  const compressed = gzipSync(`${lines.join('\n')}\n`);

  test('decompression stops after the limit: a large object is not fetched whole', async () => {
    const ranges: [number, number][] = [];
    const read = (start: number, end: number) => {
      ranges.push([start, end]);
      return Promise.resolve(compressed.subarray(start, end));
    };
    const sample = await gunzipPrefix(compressed.subarray(0, 64 * 1024), compressed.length, read, 1024 * 1024);
    expect(sample.complete).toBe(false);
    expect(sample.data.length).toBe(1024 * 1024);
    expect(sample.data.toString('utf8').startsWith('{"seq":0,')).toBe(true);
    const fetched = 64 * 1024 + ranges.reduce((total, [start, end]) => total + end - start, 0);
    expect(fetched).toBeLessThan(compressed.length / 2);
    expect(sample.storedBytes).toBeLessThanOrEqual(fetched);
  });

  test('a small object decompresses whole', async () => {
    const small = gzipSync('{"a":1}\n');
    const sample = await gunzipPrefix(small, small.length, () => Promise.reject(new Error('no more')), 1024);
    expect(sample).toEqual({ data: Buffer.from('{"a":1}\n'), complete: true, storedBytes: small.length });
  });

  test('corrupt or truncated gzip is an unreadable object', async () => {
    const truncated = Buffer.concat([gzipSync('{"id":2}\n').subarray(0, 12), Buffer.from('garbage')]);
    await expect(gunzipPrefix(truncated, truncated.length, () => Promise.reject(new Error('x')), 1024)).rejects.toThrow(
      UnreadableObjectError,
    );
    const cut = gzipSync('{"id":2}\n').subarray(0, 15);
    await expect(gunzipPrefix(cut, cut.length, () => Promise.reject(new Error('x')), 1024)).rejects.toThrow(
      /not valid gzip/,
    );
  });
});
