import * as glueSdk from '@aws-sdk/client-glue';
import type { Logger } from 'pino';
import { LOCAL_ACCOUNT_ID, type Config } from '../../lib/config';
import type { Authorizer } from '../authorize';
import type { Handler, JsonService } from '../protocol/json-protocol';
import { Catalog } from './catalog';
import { Crawlers } from './crawlers';
import { InvalidInput } from './errors';
import { gluePermissions } from './permissions';
import type { GlueStore } from './store';

/** AWS Glue's Data Catalog and crawlers, behind `X-Amz-Target: AWSGlue.<Operation>`. */
export interface GlueServiceDeps {
  config: Config;
  logger: Logger;
  store: GlueStore;
  authorizer: Authorizer;
}

export function createGlueService({ config, logger, store, authorizer }: GlueServiceDeps): JsonService {
  const catalog = new Catalog(store, authorizer);
  const crawlers = new Crawlers({ store, catalog, authorizer, config, logger: logger.child({ service: 'glue' }) });
  const bind = <T extends object>(target: T, names: (keyof T & string)[]) =>
    Object.fromEntries(
      names.map((name) => [
        name.charAt(0).toUpperCase() + name.slice(1),
        (target[name] as (...args: unknown[]) => unknown).bind(target) as Handler,
      ]),
    );
  return {
    signingName: 'glue',
    targetPrefix: 'AWSGlue',
    sdk: glueSdk as unknown as Record<string, unknown>,
    invalidInput: InvalidInput,
    permissions: gluePermissions(authorizer.arns, LOCAL_ACCOUNT_ID),
    operations: {
      ...bind(catalog, [
        'createDatabase',
        'getDatabase',
        'getDatabases',
        'updateDatabase',
        'deleteDatabase',
        'createTable',
        'getTable',
        'getTables',
        'updateTable',
        'deleteTable',
        'getTableVersions',
        'getTableVersion',
        'deleteTableVersion',
        'batchDeleteTable',
        'createPartition',
        'getPartition',
        'getPartitions',
        'updatePartition',
        'deletePartition',
        'batchCreatePartition',
        'batchGetPartition',
        'batchDeletePartition',
      ]),
      ...bind(crawlers, [
        'createCrawler',
        'getCrawler',
        'getCrawlers',
        'listCrawlers',
        'updateCrawler',
        'deleteCrawler',
        'startCrawler',
        'stopCrawler',
        'getCrawlerMetrics',
      ]),
    },
  };
}
