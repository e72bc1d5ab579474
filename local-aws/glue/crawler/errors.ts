/**
 * The two ways a crawl goes wrong. An `UnreadableObjectError` concerns one
 * object (corrupt gzip, a format no classifier recognises): the crawl skips the
 * object, reports it and goes on. An `S3AccessError` concerns the data store
 * (no such bucket, access denied): the whole crawl fails with it.
 */

export class UnreadableObjectError extends Error {
  override readonly name = 'UnreadableObjectError';
}

export class S3AccessError extends Error {
  override readonly name = 'S3AccessError';

  constructor(
    /** The S3 error code, e.g. NoSuchBucket, AccessDenied, NoSuchKey. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An object listed a moment ago and deleted since: Glue skips it like an unreadable one. */
export function isMissingObject(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = error instanceof S3AccessError ? error.code : error.name;
  return code === 'NoSuchKey' || code === 'NotFound';
}
