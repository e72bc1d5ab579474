import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, objectAccessDenied, objectNotFound, QueryFailure, s3Throttled } from './errors';
import type { ObjectSource } from './types';

/**
 * Objects fetched through the caller's ObjectSource into a local folder DuckDB
 * may read, keyed by bucket, key and ETag: an unchanged object is read from the
 * cache, a changed one (new ETag) is fetched again. The bytes are shared between
 * callers, the permission to read them is not: a caller that did not download the
 * object itself is checked with its own credentials (a HEAD) before it gets the
 * file. File names are keyed digests (the key lives outside the folder DuckDB may
 * read), so no path to an object's copy can be guessed. Files appear atomically
 * (downloaded under a temporary name, then renamed), and two queries wanting
 * the same object share one download. The cache is bounded: after downloads,
 * older versions of an object and then the least recently used files go, but
 * never a file used in the last IN_USE_MS (no query runs that long).
 */

/** Longer than any query may run (the service's limit is 5 minutes). */
const IN_USE_MS = 10 * 60_000;
/** The cache's size bound unless the engine is given another. */
export const DEFAULT_CACHE_MAX_BYTES = 4 * 1024 ** 3;
/** A sweep follows downloads at most this often. */
const SWEEP_EVERY_MS = 60_000;

export interface LakeObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
}

export const s3Uri = (object: { bucket: string; key: string }) => `s3://${object.bucket}/${object.key}`;

/** The secret that keys the cache's file names: made once, kept beside (not inside) the objects' folder. */
function cacheKey(cacheDir: string): Buffer {
  const file = path.join(cacheDir, 'cache-key');
  try {
    const key = fs.readFileSync(file);
    if (key.length === 32) return key;
  } catch {
    // None yet: made below.
  }
  const key = crypto.randomBytes(32);
  const temporary = `${file}.${process.pid}.${crypto.randomUUID()}.part`;
  fs.writeFileSync(temporary, key, { mode: 0o600 });
  fs.renameSync(temporary, file);
  return key;
}

/** The object's last extension, kept so the file's compression stays recognisable (.gz, .zst). */
function extensionOf(key: string): string {
  const match = /\.[A-Za-z0-9]{1,10}$/.exec(path.posix.basename(key));
  return match ? match[0].toLowerCase() : '';
}

/** An S3 failure as Athena reports it, or the error itself when it is not about the object. */
export function classifyObjectError(error: unknown, object: LakeObject): unknown {
  const { name, message } = describeError(error);
  // A HEAD's refusal has no body, so no error code: only its status says what it was.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status === 403 || ['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(name)) {
    return objectAccessDenied(s3Uri(object), `${name}: ${message}`);
  }
  if (status === 404 || ['NoSuchKey', 'NotFound', 'ENOENT', 'NoSuchBucket'].includes(name)) {
    return objectNotFound(s3Uri(object));
  }
  if (['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests'].includes(name)) {
    return s3Throttled(s3Uri(object));
  }
  return error;
}

interface CachedFile {
  file: string;
  /** The object's folder: its versions (one per ETag) live side by side. */
  folder: string;
  size: number;
  usedAt: number;
}

export class ObjectCache {
  readonly root: string;
  private readonly inFlight = new Map<string, Promise<void>>();
  private lastSweep = 0;
  private readonly key: Buffer;

  /** `maxBytes`: the cache's size bound (its files and their profiles). */
  constructor(
    cacheDir: string,
    private readonly maxBytes = DEFAULT_CACHE_MAX_BYTES,
  ) {
    this.root = path.resolve(cacheDir, 'objects');
    fs.mkdirSync(this.root, { recursive: true });
    this.key = cacheKey(path.resolve(cacheDir));
  }

  private digest(text: string): string {
    return crypto.createHmac('sha256', this.key).update(text).digest('hex');
  }

  pathFor(object: LakeObject): string {
    const name = this.digest(`${object.bucket}/${object.key}`);
    return path.join(
      this.root,
      name.slice(0, 2),
      name,
      `${this.digest(`${object.bucket}/${object.key}\n${object.etag}`).slice(0, 32)}${extensionOf(object.key)}`,
    );
  }

  /** The object's local file, downloaded unless an unchanged copy is cached; true in `downloaded` if fetched. */
  async fetch(
    source: ObjectSource,
    object: LakeObject,
    signal: AbortSignal,
  ): Promise<{ file: string; downloaded: boolean }> {
    const file = this.pathFor(object);
    const shared = this.inFlight.get(file);
    if (shared || fs.existsSync(file)) {
      await this.authorize(source, object, signal);
      if (shared) await shared;
      // The modification time records the last use, for the sweep.
      const now = new Date();
      await fs.promises.utimes(file, now, now).catch(() => undefined);
      return { file, downloaded: false };
    }
    const download = this.download(source, object, file, signal).finally(() => this.inFlight.delete(file));
    this.inFlight.set(file, download);
    await download;
    if (Date.now() - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = Date.now();
      this.sweep(Date.now());
    }
    return { file, downloaded: true };
  }

  /**
   * Removes, among files unused for IN_USE_MS, the older versions of each object,
   * then the least recently used files until the cache is under 80% of its bound.
   * Returns the files removed.
   */
  sweep(now: number): string[] {
    const files: CachedFile[] = [];
    for (const shard of fs.readdirSync(this.root)) {
      for (const name of fs.readdirSync(path.join(this.root, shard))) {
        const folder = path.join(this.root, shard, name);
        for (const entry of fs.readdirSync(folder)) {
          if (entry.endsWith('.part') || entry.endsWith('.profile.json')) continue;
          const file = path.join(folder, entry);
          const stat = fs.statSync(file, { throwIfNoEntry: false });
          if (stat) files.push({ file, folder, size: stat.size, usedAt: stat.mtimeMs });
        }
      }
    }
    const removable = (entry: CachedFile) => now - entry.usedAt >= IN_USE_MS;
    const removed = new Set<CachedFile>();
    const newest = new Map<string, CachedFile>();
    for (const entry of files) {
      const kept = newest.get(entry.folder);
      if (!kept || entry.usedAt > kept.usedAt) newest.set(entry.folder, entry);
    }
    for (const entry of files) if (newest.get(entry.folder) !== entry && removable(entry)) removed.add(entry);
    let total = files.filter((entry) => !removed.has(entry)).reduce((sum, entry) => sum + entry.size, 0);
    if (total > this.maxBytes) {
      const oldestFirst = files.filter((entry) => !removed.has(entry) && removable(entry));
      oldestFirst.sort((a, b) => a.usedAt - b.usedAt);
      for (const entry of oldestFirst) {
        if (total <= this.maxBytes * 0.8) break;
        removed.add(entry);
        total -= entry.size;
      }
    }
    for (const { file } of removed) {
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.profile.json`, { force: true });
    }
    return [...removed].map(({ file }) => file);
  }

  /** The caller's own read permission on an object whose bytes someone else fetched. */
  private async authorize(source: ObjectSource, object: LakeObject, signal: AbortSignal): Promise<void> {
    try {
      await source.head(object.bucket, object.key, signal);
    } catch (error) {
      if (error instanceof QueryFailure || signal.aborted) throw error;
      throw classifyObjectError(error, object);
    }
  }

  private async download(source: ObjectSource, object: LakeObject, file: string, signal: AbortSignal): Promise<void> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.${crypto.randomUUID()}.part`;
    try {
      await source.download(object.bucket, object.key, temporary, signal);
      await fs.promises.rename(temporary, file);
    } catch (error) {
      await fs.promises.rm(temporary, { force: true });
      if (error instanceof QueryFailure || signal.aborted) throw error;
      throw classifyObjectError(error, object);
    }
  }

  /** What the engine learned about a cached file (its JSON keys, its Parquet columns), kept beside it. */
  readProfile<T>(file: string): T | undefined {
    try {
      return JSON.parse(fs.readFileSync(`${file}.profile.json`, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  writeProfile(file: string, profile: unknown): void {
    const temporary = `${file}.${process.pid}.${crypto.randomUUID()}.profile.part`;
    fs.writeFileSync(temporary, JSON.stringify(profile));
    fs.renameSync(temporary, `${file}.profile.json`);
  }
}
