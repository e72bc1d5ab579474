import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, objectAccessDenied, objectNotFound, QueryFailure, s3Throttled } from './errors';
import type { ObjectSource } from './types';

/**
 * Objects fetched through the caller's ObjectSource into a local folder DuckDB
 * may read, keyed by bucket, key and ETag: an unchanged object is read from the
 * cache, a changed one (new ETag) is fetched again. Files appear atomically
 * (downloaded under a temporary name, then renamed), and two queries wanting
 * the same object share one download.
 */

export interface LakeObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
}

export const s3Uri = (object: { bucket: string; key: string }) => `s3://${object.bucket}/${object.key}`;

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/** The object's last extension, kept so the file's compression stays recognisable (.gz, .zst). */
function extensionOf(key: string): string {
  const match = /\.[A-Za-z0-9]{1,10}$/.exec(path.posix.basename(key));
  return match ? match[0].toLowerCase() : '';
}

/** An S3 failure as Athena reports it, or the error itself when it is not about the object. */
export function classifyObjectError(error: unknown, object: LakeObject): unknown {
  const { name, message } = describeError(error);
  if (['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(name)) {
    return objectAccessDenied(s3Uri(object), `${name}: ${message}`);
  }
  if (['NoSuchKey', 'NotFound', 'ENOENT', 'NoSuchBucket'].includes(name)) return objectNotFound(s3Uri(object));
  if (['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests'].includes(name)) {
    return s3Throttled(s3Uri(object));
  }
  return error;
}

export class ObjectCache {
  readonly root: string;
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(cacheDir: string) {
    this.root = path.resolve(cacheDir, 'objects');
    fs.mkdirSync(this.root, { recursive: true });
  }

  pathFor(object: LakeObject): string {
    const name = sha256(`${object.bucket}/${object.key}`);
    return path.join(
      this.root,
      name.slice(0, 2),
      name,
      `${sha256(object.etag).slice(0, 32)}${extensionOf(object.key)}`,
    );
  }

  /** The object's local file, downloaded unless an unchanged copy is cached; true in `downloaded` if fetched. */
  async fetch(
    source: ObjectSource,
    object: LakeObject,
    signal: AbortSignal,
  ): Promise<{ file: string; downloaded: boolean }> {
    const file = this.pathFor(object);
    if (fs.existsSync(file)) return { file, downloaded: false };
    let download = this.inFlight.get(file);
    if (!download) {
      download = this.download(source, object, file, signal).finally(() => this.inFlight.delete(file));
      this.inFlight.set(file, download);
    }
    await download;
    return { file, downloaded: true };
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
