import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryFailure } from '../../local-aws/athena/engine/errors';
import { ObjectCache, type LakeObject } from '../../local-aws/athena/engine/object-cache';
import type { ObjectSource } from '../../local-aws/athena/engine/types';

const MINUTE = 60_000;
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Puts a cached copy of the object as a download would, last used `minutesAgo` before `now`. */
function cached(cache: ObjectCache, object: LakeObject, bytes: number, now: number, minutesAgo: number): string {
  const file = cache.pathFor(object);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.alloc(bytes));
  fs.writeFileSync(`${file}.profile.json`, '{}');
  const usedAt = new Date(now - minutesAgo * MINUTE);
  fs.utimesSync(file, usedAt, usedAt);
  return file;
}

const object = (key: string, etag = '"1"'): LakeObject => ({ bucket: 'lake', key, size: 0, etag });

test('older versions of an object go once unused; the newest stays', () => {
  const cache = new ObjectCache(dir, 1_000_000);
  const now = Date.now();
  const old = cached(cache, object('raw/a.gz', '"v1"'), 100, now, 30);
  const current = cached(cache, object('raw/a.gz', '"v2"'), 100, now, 20);
  const recentOld = cached(cache, object('raw/b.gz', '"v1"'), 100, now, 2);
  cached(cache, object('raw/b.gz', '"v2"'), 100, now, 1);
  expect(cache.sweep(now)).toEqual([old]);
  expect(fs.existsSync(old)).toBe(false);
  expect(fs.existsSync(`${old}.profile.json`)).toBe(false);
  expect(fs.existsSync(current)).toBe(true);
  // Used within the last ten minutes: a running query may still read it.
  expect(fs.existsSync(recentOld)).toBe(true);
});

test('over its bound, the least recently used files go until 80% of it, never one in use', () => {
  const cache = new ObjectCache(dir, 1000);
  const now = Date.now();
  const files = [60, 50, 40, 30, 20, 5].map((minutesAgo, index) =>
    cached(cache, object(`raw/${index}.gz`), 250, now, minutesAgo),
  );
  // 1,500 bytes: the least recently used go until the cache holds at most 800 bytes (80% of its bound).
  expect(cache.sweep(now).sort()).toEqual(files.slice(0, 3).sort());
  expect(files.map((file) => fs.existsSync(file))).toEqual([false, false, false, true, true, true]);
  // Under the bound, nothing more goes.
  expect(cache.sweep(now)).toEqual([]);
});

/** S3 as two callers see it: one may read the object, the other is refused (403, as a HEAD answers). */
function source(allowed: boolean, calls: string[]): ObjectSource {
  const refuse = () => Object.assign(new Error('UnknownError'), { $metadata: { httpStatusCode: 403 } });
  return {
    list: () => Promise.resolve([]),
    head: (_bucket, key) => {
      calls.push(`head ${key}`);
      return allowed ? Promise.resolve() : Promise.reject(refuse());
    },
    download: async (_bucket, key, file) => {
      calls.push(`get ${key}`);
      if (!allowed) throw refuse();
      await fs.promises.writeFile(file, 'bytes');
    },
  };
}

test('a cached object is given to another caller only after its own HEAD succeeds', async () => {
  const cache = new ObjectCache(dir, 1_000_000);
  const signal = new AbortController().signal;
  const calls: string[] = [];
  const item = object('dlq/secret.json');
  expect(await cache.fetch(source(true, calls), item, signal)).toMatchObject({ downloaded: true });
  expect(calls).toEqual(['get dlq/secret.json']);
  const refused = await cache.fetch(source(false, calls), item, signal).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(QueryFailure);
  expect((refused as QueryFailure).message).toMatch(/s3:\/\/lake\/dlq\/secret\.json/);
  expect(calls).toEqual(['get dlq/secret.json', 'head dlq/secret.json']);
  expect(await cache.fetch(source(true, calls), item, signal)).toEqual({
    file: cache.pathFor(item),
    downloaded: false,
  });
  expect(calls.at(-1)).toBe('head dlq/secret.json');
});

test('file names are keyed by a secret kept outside the folder DuckDB reads, stable across restarts', () => {
  const first = new ObjectCache(dir, 1_000_000);
  const again = new ObjectCache(dir, 1_000_000);
  const other = new ObjectCache(path.join(dir, 'other'), 1_000_000);
  const item = object('raw/a.gz');
  expect(again.pathFor(item)).toBe(first.pathFor(item));
  expect(path.relative(first.root, other.pathFor(item)).startsWith('..')).toBe(true);
  expect(path.basename(other.pathFor(item))).not.toBe(path.basename(first.pathFor(item)));
  expect(fs.existsSync(path.join(dir, 'cache-key'))).toBe(true);
  expect(path.relative(first.root, path.join(dir, 'cache-key')).startsWith('..')).toBe(true);
  expect(first.pathFor(item).endsWith('.gz')).toBe(true);
});
