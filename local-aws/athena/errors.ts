import { ServiceError } from '../errors';

/** Athena's errors; `InvalidRequestException` carries an `AthenaErrorCode` as AWS's does. */
export const InvalidRequest = (message: string, athenaErrorCode = 'INVALID_INPUT') =>
  new ServiceError('InvalidRequestException', message, 400, { AthenaErrorCode: athenaErrorCode });
export const InternalServer = (message: string) => new ServiceError('InternalServerException', message, 500);
/** Athena's answer to a caller over its concurrent query limit. */
export const TooManyRequests = (message: string) =>
  new ServiceError('TooManyRequestsException', message, 400, { Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED' });
export const ResourceNotFound = (message: string) => new ServiceError('ResourceNotFoundException', message, 400);
