import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { callAws, ErrorType, nonRetryable } from '../lib/errors';
import type { S3ProbeResult } from '../lib/contracts';

export interface S3ActivityDeps {
  s3: S3Client;
  bucket: string;
}

export function createS3Activities({ s3, bucket }: S3ActivityDeps) {
  /** Puts one object, reads it back byte for byte, and deletes it. */
  async function probeS3(probeId: string): Promise<S3ProbeResult> {
    const abortSignal = Context.current().cancellationSignal;
    const started = Date.now();
    const key = `healthcheck/${probeId}.json`;
    const body = JSON.stringify({ probeId, writtenAt: new Date().toISOString() });
    await callAws('PutObject', () =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }), {
        abortSignal,
      }),
    );
    const object = await callAws('GetObject', () =>
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
    );
    const readBack = (await object.Body?.transformToString()) ?? '';
    if (readBack !== body) {
      throw nonRetryable(
        ErrorType.DataMismatch,
        `s3://${bucket}/${key} read back ${readBack.length} bytes that differ from the ${body.length} written`,
      );
    }
    await callAws('DeleteObject', () =>
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
    );
    return { bucket, key, bytes: body.length, roundTripMs: Date.now() - started };
  }

  return { probeS3 };
}
