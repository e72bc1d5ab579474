import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/activity';
import { classifyAwsError } from '../../lib/errors';

/** The few object operations the segment writer needs, with S3's semantics. */
export interface ObjectStore {
  /**
   * A create-only write (S3 `If-None-Match: *`): true if it created the object, false if the key already held
   * one (which it leaves as it was). On a server that ignores the header, an existing object is overwritten and
   * the answer is true.
   */
  putIfAbsent(key: string, body: Buffer | string, metadata: Record<string, string>): Promise<boolean>;
  /** An object's body; fails (S3's NoSuchKey) when there is none. */
  get(key: string): Promise<Buffer>;
}

export const isPreconditionFailed = (error: unknown) =>
  (error as { name?: string }).name === 'PreconditionFailed' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;

export interface S3RetryPolicy {
  /** After this time (ms since the epoch), a failed call fails instead of being retried. */
  abandonAt(): number;
  /** The last transient failure (undefined once a call succeeds): the member reports it. */
  onError(message: string | undefined): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/**
 * The store on S3. Transient failures (the server down, 5xx, throttling) are retried with backoff (0.5 s
 * doubling to 10 s) until `abandonAt`; non-retryable ones (access denied, no such bucket) fail at once.
 */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly retry: S3RetryPolicy,
  ) {}

  async putIfAbsent(key: string, body: Buffer | string, metadata: Record<string, string>): Promise<boolean> {
    try {
      await this.withRetries('PutObject', () =>
        this.s3.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: '*', Metadata: metadata }),
        ),
      );
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const object = await this.withRetries('GetObject', () =>
      this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
    );
    return Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  private async withRetries<T>(operation: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await call();
        this.retry.onError(undefined);
        return result;
      } catch (error) {
        if (isPreconditionFailed(error)) throw error;
        const classified = classifyAwsError(operation, error);
        if (classified instanceof ApplicationFailure && classified.nonRetryable) throw classified;
        if (Date.now() > this.retry.abandonAt()) throw classified;
        const message = `${operation}: ${classified.message}`;
        this.retry.onError(message);
        if (attempt === 1 || attempt % 10 === 0)
          this.retry.warn('S3 call failed, retrying', { operation, attempt, error: message });
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(attempt, 6), 10_000)));
      }
    }
  }
}

/** What a fault hook is told before each operation of the in-memory store; it may throw or wait. */
export type StoreFault = (operation: 'put' | 'get' | 'list', key: string) => void | Promise<void>;

/**
 * The store in memory, for unit tests of the writer's races. It models S3 as the server behaves: a write
 * lands whole or not at all, at the end of the call (the create-only check happens then, so two writers
 * racing for one key both pass any earlier look and exactly one creates it); a get of a missing key fails
 * with NoSuchKey; `list` (which tests use to read the lake; the writer never lists) returns what has landed,
 * sorted by UTF-8 bytes as S3 lists. `ignoresIfNoneMatch` models a server that
 * overwrites. `fault` runs before each operation (to fail it, or to hold it while another writer goes on).
 */
export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; metadata: Record<string, string> }>();
  /** Every put that created or replaced an object, in order. */
  readonly writes: string[] = [];
  fault?: StoreFault;

  constructor(private readonly options: { ignoresIfNoneMatch?: boolean } = {}) {}

  async putIfAbsent(key: string, body: Buffer | string, metadata: Record<string, string>): Promise<boolean> {
    await this.before('put', key);
    if (this.objects.has(key) && !this.options.ignoresIfNoneMatch) return false;
    this.objects.set(key, { body: Buffer.from(body), metadata: { ...metadata } });
    this.writes.push(key);
    return true;
  }

  async get(key: string): Promise<Buffer> {
    await this.before('get', key);
    const object = this.objects.get(key);
    if (!object)
      throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return object.body;
  }

  /** The keys under a prefix, in S3's order. */
  async list(prefix: string): Promise<string[]> {
    await this.before('list', prefix);
    return [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  private async before(operation: 'put' | 'get' | 'list', key: string) {
    // A network round trip: other writers run in between.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.fault?.(operation, key);
  }
}
