import { S3AccessError } from '../../local-aws/glue/crawler/errors';
import type { ObjectReader, StoredObject } from '../../local-aws/glue/crawler/types';

/**
 * An ObjectReader over objects held in memory, failing as S3 fails (unknown
 * bucket, missing key), that counts the bytes it serves. For tests and tools
 * that crawl without an S3 server.
 */
export interface MemoryObjectReader extends ObjectReader {
  /** Bytes served per key, to show how much of each object a crawl read. */
  readonly bytesRead: Map<string, number>;
  /** Keys listed or read, in order. */
  readonly reads: string[];
}

export function memoryObjectReader(buckets: Record<string, Record<string, Buffer | string>>): MemoryObjectReader {
  const bytesRead = new Map<string, number>();
  const reads: string[] = [];
  const bucketOf = (bucket: string) => {
    const objects = buckets[bucket];
    if (!objects) throw new S3AccessError('NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    return objects;
  };
  return {
    bytesRead,
    reads,
    async *list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<StoredObject> {
      const objects = bucketOf(bucket);
      for (const key of Object.keys(objects).sort()) {
        signal.throwIfAborted();
        if (!key.startsWith(prefix)) continue;
        yield { key, size: Buffer.byteLength(objects[key]!), lastModified: new Date(0) };
      }
    },
    async read(bucket, key, signal, range) {
      signal.throwIfAborted();
      const body = bucketOf(bucket)[key];
      if (body === undefined) throw new S3AccessError('NoSuchKey', `The specified key does not exist: ${key}`);
      const bytes = Buffer.from(body);
      const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
      reads.push(key);
      bytesRead.set(key, (bytesRead.get(key) ?? 0) + slice.length);
      return Promise.resolve(slice);
    },
  };
}
