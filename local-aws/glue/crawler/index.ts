/**
 * The crawler engine of the local Glue service: given S3 targets, it lists and
 * samples objects, classifies them, infers and merges their schemas, and
 * groups them into tables and partitions as AWS Glue's crawler does. It writes
 * nothing: the service applies the results to the catalog under the crawler's
 * policies.
 */
export { crawlTargets } from './crawl';
export { S3AccessError, UnreadableObjectError } from './errors';
export { s3ObjectReader } from './s3-reader';
export type {
  CrawledPartition,
  CrawledTable,
  CrawlLog,
  CrawlRequest,
  CrawlResult,
  CrawlTarget,
  ObjectReader,
  StoredObject,
} from './types';
