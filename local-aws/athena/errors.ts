import { ServiceError } from '../errors';

/** Athena's errors; `InvalidRequestException` carries an `AthenaErrorCode` as AWS's does. */
export class AthenaRequestError extends ServiceError {
  constructor(
    message: string,
    readonly athenaErrorCode = 'INVALID_INPUT',
  ) {
    super('InvalidRequestException', message, 400);
  }
}

export const InvalidRequest = (message: string) => new AthenaRequestError(message);
export const InternalServer = (message: string) => new ServiceError('InternalServerException', message, 500);
export const ResourceNotFound = (message: string) => new ServiceError('ResourceNotFoundException', message, 400);
