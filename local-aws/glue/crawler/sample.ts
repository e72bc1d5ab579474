import { createGunzip } from 'node:zlib';
import { UnreadableObjectError } from './errors';

/**
 * Reading the start of an object the way Glue samples it: never the whole of a
 * large object. A plain object is read with one ranged request; a gzip object
 * is fetched a range at a time and decompressed as a stream that stops once it
 * has produced enough.
 */

export const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** Compressed bytes fetched per request while decompressing. */
const GZIP_RANGE = 256 * 1024;

/** Reads `[start, end)` of the object. */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

export interface TextSample {
  /** The first bytes of the (decompressed) content. */
  data: Buffer;
  /** `data` is the whole content. */
  complete: boolean;
  /** Stored bytes read to produce `data`: compressed bytes for gzip. */
  storedBytes: number;
}

/**
 * Up to `limit` decompressed bytes of a gzip object, starting from its first
 * `head` bytes. Multi-member gzip (concatenated streams) decompresses as one.
 */
export async function gunzipPrefix(head: Buffer, size: number, read: RangeReader, limit: number): Promise<TextSample> {
  const gunzip = createGunzip();
  const output: Buffer[] = [];
  let produced = 0;
  gunzip.on('data', (chunk: Buffer) => {
    output.push(chunk);
    produced += chunk.length;
  });
  const failed = new Promise<never>((_, reject) => gunzip.once('error', reject));
  const ended = new Promise<void>((resolve) => gunzip.once('end', resolve));
  const decompress = async <T>(step: Promise<T>): Promise<T> => {
    try {
      return await Promise.race([step, failed]);
    } catch (error) {
      throw new UnreadableObjectError(`not valid gzip: ${(error as Error).message}`);
    }
  };
  failed.catch(() => undefined);

  let offset = 0;
  let chunk = head;
  let complete = false;
  try {
    for (;;) {
      const written = chunk;
      await decompress(new Promise<void>((resolve) => gunzip.write(written, () => resolve())));
      offset += chunk.length;
      if (produced >= limit) break;
      if (offset >= size) {
        gunzip.end();
        await decompress(ended);
        complete = true;
        break;
      }
      chunk = await read(offset, Math.min(size, offset + GZIP_RANGE));
      if (chunk.length === 0) throw new UnreadableObjectError(`object ends at byte ${offset}, before its listed size`);
    }
  } finally {
    gunzip.destroy();
  }
  const data = Buffer.concat(output);
  const kept = Math.min(data.length, limit);
  return {
    data: data.subarray(0, kept),
    complete: complete && kept === data.length,
    // The compressed bytes behind the part kept, in proportion.
    storedBytes: data.length === 0 ? offset : Math.round((offset * kept) / data.length),
  };
}

/** Up to `limit` bytes of an uncompressed object, given its first `head` bytes. */
export async function plainPrefix(head: Buffer, size: number, read: RangeReader, limit: number): Promise<TextSample> {
  const end = Math.min(size, limit);
  const data = head.length >= end ? head.subarray(0, end) : Buffer.concat([head, await read(head.length, end)]);
  return { data, complete: end === size, storedBytes: data.length };
}
