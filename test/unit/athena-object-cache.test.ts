import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectCache, type LakeObject } from '../../local-aws/athena/engine/object-cache';

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
