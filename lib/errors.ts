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
 * Classifies an AWS SDK error once, where it arises: client faults other than
 * throttling become non-retryable failures naming the operation; everything
 * else is rethrown for Temporal to retry with backoff.
 */
export function classifyAwsError(operation: string, error: unknown): Error {
  if (isAwsServiceError(error) && error.$fault === 'client' && !error.$retryable?.throttling) {
    return nonRetryable(ErrorType.ClientFault, `${operation} failed: ${error.name}: ${error.message}`, error);
  }
  return error instanceof Error ? error : new Error(`${operation} failed: ${String(error)}`);
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

/** Classifies a kafkajs error where it arises, as classifyAwsError does for AWS. */
export function classifyKafkaError(operation: string, error: unknown): Error {
  const type = (error as { type?: string } | undefined)?.type;
  if (type && KAFKA_CLIENT_FAULTS.has(type)) {
    return nonRetryable(ErrorType.ClientFault, `${operation} failed: ${type}: ${(error as Error).message}`, error);
  }
  return error instanceof Error ? error : new Error(`${operation} failed: ${String(error)}`);
}
