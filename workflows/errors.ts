import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

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
