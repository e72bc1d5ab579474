import { ApplicationFailure } from '@temporalio/common';
import { classifyAwsError, ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../lib/errors';

function awsError(name: string, fault: 'client' | 'server', throttling = false): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: fault,
    $retryable: throttling ? { throttling: true } : undefined,
  });
}

describe('classifyAwsError', () => {
  test('a client fault becomes a non-retryable ClientFault naming the operation', () => {
    const failure = classifyAwsError('PutObject', awsError('AccessDenied', 'client'));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: ErrorType.ClientFault, nonRetryable: true });
    expect(failure.message).toBe('PutObject failed: AccessDenied: AccessDenied happened');
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(ErrorType.ClientFault);
  });

  test('throttling and server faults stay retryable', () => {
    const throttled = awsError('SlowDown', 'client', true);
    expect(classifyAwsError('PutObject', throttled)).toBe(throttled);
    const server = awsError('InternalError', 'server');
    expect(classifyAwsError('PutObject', server)).toBe(server);
  });

  test('network errors stay retryable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyAwsError('GetObject', refused)).toBe(refused);
  });
});
