import { ApplicationFailure } from '@temporalio/common';

/**
 * The fixed set of failure types TickSync raises. Workflows list the
 * non-retryable ones in `nonRetryableErrorTypes`, so a bad input fails a run at
 * once instead of retrying until a timeout.
 */
export const ErrorType = {
  /** Input that can never succeed: a bad file, a bad option, a malformed request. */
  InvalidInput: 'InvalidInput',
  /** A service refused the request for a reason retrying cannot fix (AWS `$fault: 'client'`). */
  ClientFault: 'ClientFault',
  /** A probe read back something other than what it wrote. */
  DataMismatch: 'DataMismatch',
  /** The named resource does not exist (AWS `EntityNotFoundException`): a crawler, a database. */
  NotFound: 'NotFound',
  /** A Glue crawl ended FAILED; the message carries the crawler's ErrorMessage. */
  CrawlFailed: 'CrawlFailed',
  /** A Glue crawl ended CANCELLED: someone stopped the crawler. */
  CrawlCancelled: 'CrawlCancelled',
  /** An Athena query ended FAILED; the message carries Athena's reason, the details its AthenaError. */
  QueryFailed: 'QueryFailed',
  /** An Athena query ended CANCELLED: someone stopped it. */
  QueryCancelled: 'QueryCancelled',
  /** The consumer a pipeline waits on was stopped or failed before flushing what the replay sent. */
  ConsumerStopped: 'ConsumerStopped',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** A bad flag, argument or value given to a script; scripts exit with the usage code. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const NON_RETRYABLE_ERROR_TYPES: ErrorType[] = [
  ErrorType.InvalidInput,
  ErrorType.ClientFault,
  ErrorType.DataMismatch,
  ErrorType.NotFound,
  ErrorType.CrawlFailed,
  ErrorType.CrawlCancelled,
  ErrorType.QueryFailed,
  ErrorType.QueryCancelled,
  ErrorType.ConsumerStopped,
];

export function nonRetryable(type: ErrorType, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    cause: cause instanceof Error ? cause : undefined,
  });
}

interface AwsServiceError {
  name: string;
  message: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
}

function isAwsServiceError(error: unknown): error is AwsServiceError {
  return error instanceof Error && '$fault' in error;
}

/**
 * Client faults that pass with time. Glue models ThrottlingException as a plain
 * client fault (no `$retryable`), so throttling is also known by name, as the
 * SDK's own retry strategy knows it; a Glue operation that timed out or met a
 * concurrent change succeeds when tried again.
 */
const AWS_TRANSIENT_CLIENT_FAULTS = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'OperationTimeoutException',
  'ConcurrentModificationException',
]);

/** AWS error names that say what kind of client fault it is; the rest are ClientFault. */
const AWS_CLIENT_FAULT_TYPES: Record<string, ErrorType> = {
  EntityNotFoundException: ErrorType.NotFound,
  InvalidInputException: ErrorType.InvalidInput,
  ValidationException: ErrorType.InvalidInput,
};

/**
 * Classifies an AWS SDK error once, where it arises: client faults other than
 * throttling become non-retryable failures naming the operation; everything
 * else is rethrown for Temporal to retry with backoff.
 */
export function classifyAwsError(operation: string, error: unknown): Error {
  if (
    isAwsServiceError(error) &&
    error.$fault === 'client' &&
    !error.$retryable?.throttling &&
    !AWS_TRANSIENT_CLIENT_FAULTS.has(error.name)
  ) {
    const type = AWS_CLIENT_FAULT_TYPES[error.name] ?? ErrorType.ClientFault;
    return nonRetryable(type, `${operation} failed: ${error.name}: ${error.message}`, error);
  }
  return error instanceof Error ? error : new Error(`${operation} failed: ${String(error)}`);
}

/** Whether an error is the AWS error of that name (the SDK names errors by their wire code). */
export function isAwsError(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/** Runs one AWS call and classifies its error. */
export async function callAws<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyAwsError(operation, error);
  }
}

/** Kafka error types that retrying cannot fix: bad requests and missing rights. */
const KAFKA_CLIENT_FAULTS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_REQUIRED_ACKS',
  'POLICY_VIOLATION',
]);

/** Classifies a Kafka error (its type in protocol names, from either client) where it arises, as classifyAwsError does for AWS. */
export function classifyKafkaError(operation: string, error: unknown): Error {
  const type = (error as { type?: string } | undefined)?.type;
  if (type && KAFKA_CLIENT_FAULTS.has(type)) {
    return nonRetryable(ErrorType.ClientFault, `${operation} failed: ${type}: ${(error as Error).message}`, error);
  }
  return error instanceof Error ? error : new Error(`${operation} failed: ${String(error)}`);
}
