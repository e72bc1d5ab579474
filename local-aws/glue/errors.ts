import { ServiceError } from '../errors';

/** The errors Glue answers with, named and worded as AWS Glue names and words them. */
const error = (code: string, status?: number) => (message: string) => new ServiceError(code, message, status);

export const EntityNotFound = error('EntityNotFoundException');
export const AlreadyExists = error('AlreadyExistsException');
export const InvalidInput = error('InvalidInputException');
export const CrawlerRunning = error('CrawlerRunningException');
export const CrawlerNotRunning = error('CrawlerNotRunningException');
export const CrawlerStopping = error('CrawlerStoppingException');
export const ResourceNumberLimitExceeded = error('ResourceNumberLimitExceededException');
export const ConcurrentModification = error('ConcurrentModificationException');
