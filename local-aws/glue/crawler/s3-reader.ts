import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { S3AccessError } from './errors';
import type { ObjectReader, StoredObject } from './types';

/** Turns an S3 client error into one that names the operation and the S3 location; an abort stays an abort. */
function describe(error: unknown, operation: string, url: string, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  const code = error instanceof Error ? error.name : 'Error';
  const detail = error instanceof Error ? error.message : String(error);
  return new S3AccessError(code, `S3 ${operation} of ${url} failed: ${code}: ${detail}`, { cause: error });
}

/** The crawler's view of S3 through the SDK: ListObjectsV2 page by page, GetObject with a Range. */
export function s3ObjectReader(client: S3Client): ObjectReader {
  return {
    async *list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<StoredObject> {
      let token: string | undefined;
      do {
        const page = await client
          .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), {
            abortSignal: signal,
          })
          .catch((error: unknown) => {
            throw describe(error, 'ListObjectsV2', `s3://${bucket}/${prefix}`, signal);
          });
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async read(bucket, key, signal, range) {
      const url = `s3://${bucket}/${key}`;
      try {
        const output = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: range && `bytes=${range.start}-${range.end}` }),
          { abortSignal: signal },
        );
        if (!output.Body) return Buffer.alloc(0);
        const bytes = await output.Body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        throw describe(error, 'GetObject', url, signal);
      }
    },
  };
}
