import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectReader } from './types';

/** The engine's S3 access through the S3 API: ListObjectsV2 pages, ranged GetObject. */
export function s3ObjectReader(client: S3Client): ObjectReader {
  return {
    async *list(bucket, prefix, signal) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          { abortSignal: signal },
        );
        for (const object of page.Contents ?? []) yield { key: object.Key!, size: object.Size ?? 0 };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async read(bucket, key, signal, range) {
      const response = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: range && `bytes=${range.start}-${range.end}` }),
        { abortSignal: signal },
      );
      return Buffer.from(await response.Body!.transformToByteArray());
    },
  };
}
