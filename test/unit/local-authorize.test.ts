import pino from 'pino';
import { Authorizer, crawlerPrincipal, userPrincipal } from '../../local-aws/authorize';
import type { ServiceError } from '../../local-aws/errors';
import { gluePermissions } from '../../local-aws/glue/permissions';
import { createJsonProtocolHandler } from '../../local-aws/protocol/json-protocol';
import { LOCAL_ACCOUNT_ID, loadConfig } from '../../lib/config';
import { thrownBy } from '../helpers/thrown';

/** The local Glue + Athena authorisation: the role documents rendered with the local defaults. */

const config = loadConfig({});
const authorizer = new Authorizer(config);
const { arns } = authorizer;
const rules = gluePermissions(arns, LOCAL_ACCOUNT_ID) as Record<string, (input: unknown) => unknown>;

test('the admin keys are the root: nothing is refused', () => {
  expect(() =>
    authorizer.check(userPrincipal('admin'), [{ action: 'glue:DeleteDatabase', resource: arns.glueDatabase('x') }]),
  ).not.toThrow();
});

test('a refusal is AccessDeniedException naming the caller, the action and the most specific resource', () => {
  const error = thrownBy<ServiceError>(() =>
    authorizer.check(userPrincipal('analyst'), arns.tablePath('glue:CreateTable', 'ticksync', 'ticks')),
  );
  expect(error).toMatchObject({ code: 'AccessDeniedException', status: 400 });
  expect(error.message).toBe(
    `User: arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/ticksync-analyst is not authorized to perform: glue:CreateTable on resource: arn:aws:glue:${config.aws.region}:${LOCAL_ACCOUNT_ID}:table/ticksync/ticks because no identity-based policy allows the glue:CreateTable action`,
  );
  const crawl = thrownBy<ServiceError>(() =>
    authorizer.check(crawlerPrincipal('crawler'), arns.tablePath('glue:DeleteTable', 'ticksync', 'ticks')),
  );
  expect(crawl.message).toMatch(/^User: arn:aws:sts::000000000000:assumed-role\/ticksync-crawler\/AWS-Crawler is/);
});

test('a call is allowed only when every resource it is authorised on is', () => {
  const crawler = crawlerPrincipal('crawler');
  expect(() => authorizer.check(crawler, arns.tablePath('glue:CreateTable', 'ticksync', 'ticks'))).not.toThrow();
  expect(() => authorizer.check(crawler, arns.tablePath('glue:CreateTable', 'TickSync_Bench', 'T'))).not.toThrow();
  expect(
    thrownBy<ServiceError>(() => authorizer.check(crawler, arns.tablePath('glue:CreateTable', 'other', 'ticks')))
      .message,
  ).toMatch(/table\/other\/ticks because/);
});

test('Glue rules name the action and the ARNs AWS authorises each operation on', () => {
  expect(rules.GetTable!({ DatabaseName: 'Db', Name: 'T' })).toEqual(arns.tablePath('glue:GetTable', 'db', 't'));
  expect(rules.GetTables!({ DatabaseName: 'db' })).toEqual(arns.tablePath('glue:GetTables', 'db', '*'));
  expect(rules.StartCrawler!({ Name: 'ticksync-raw' })).toEqual([
    {
      action: 'glue:StartCrawler',
      resource: `arn:aws:glue:${config.aws.region}:${LOCAL_ACCOUNT_ID}:crawler/ticksync-raw`,
    },
  ]);
  expect(rules.CreateCrawler!({ Name: 'c', Role: 'ticksync-crawler' })).toContainEqual({
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/ticksync-crawler`,
    context: { 'iam:PassedToService': 'glue.amazonaws.com' },
  });
  expect(rules.ListCrawlers!({})).toEqual([{ action: 'glue:ListCrawlers', resource: '*' }]);
});

test('a service with an operation that has no permission rule does not start', () => {
  const service = {
    signingName: 'glue',
    targetPrefix: 'AWSGlue',
    sdk: {},
    invalidInput: () => new Error('x') as never,
    operations: { GetTable: () => ({}), GetTables: () => ({}) },
    permissions: { GetTable: () => [] },
  };
  expect(() =>
    createJsonProtocolHandler({
      region: config.aws.region,
      identities: new Map(),
      services: [service],
      authorizer,
      logger: pino({ enabled: false }),
    }),
  ).toThrow('AWSGlue: no permission rule for GetTables');
});
