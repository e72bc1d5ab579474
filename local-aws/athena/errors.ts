import { ServiceError } from '../errors';

/** Athena's errors; `InvalidRequestException` carries an `AthenaErrorCode` as AWS's does. */
export const InvalidRequest = (message: string, athenaErrorCode = 'INVALID_INPUT') =>
  new ServiceError('InvalidRequestException', message, 400, { AthenaErrorCode: athenaErrorCode });
export const InternalServer = (message: string) => new ServiceError('InternalServerException', message, 500);
export const ResourceNotFound = (message: string) => new ServiceError('ResourceNotFoundException', message, 400);
