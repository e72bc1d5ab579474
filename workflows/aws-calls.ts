import { ActivityFailure, ApplicationFailure, type RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';

/**
 * How the workflows retry their AWS activities (Glue, Athena): with backoff up to
 * 30 s apart, about four minutes of a service that does not answer before the run
 * fails; the non-retryable failure types at once.
 */
export const AWS_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** An activity's non-retryable failure, raised again with its own type, so callers find it at `cause.type`. */
export function surfaced(error: unknown): unknown {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || !cause.nonRetryable) return error;
  return ApplicationFailure.create({
    type: cause.type ?? undefined,
    message: cause.message,
    nonRetryable: true,
    details: cause.details ?? undefined,
    cause: error as ActivityFailure,
  });
}
