import { GetDatabasesCommand, GlueClient } from '@aws-sdk/client-glue';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { evaluate } from '../../iam/evaluate';
import { policyValuesFor, renderPolicy } from '../../iam/policies';
import { createS3Client } from '../../lib/clients';
import { LOCAL_ACCOUNT_ID, loadConfig, ROLES, type Role } from '../../lib/config';
import { uniqueName } from '../helpers/workers';

/**
 * Least privilege on the real local S3 server: every role's keys against every
 * lake prefix, each allowed or denied exactly as its policy document says, and
 * the pipeline's own rules spelled out (the ingest role cannot read or delete,
 * the crawler cannot write, the analyst cannot write raw/, the compactor reads
 * raw/ and writes curated/ only).
 */

const config = loadConfig();
const { bucket } = config.s3;
const values = policyValuesFor(config, LOCAL_ACCOUNT_ID);
const admin = createS3Client(config, 'admin');
const clients = Object.fromEntries(ROLES.map((role) => [role, createS3Client(config, role)])) as Record<Role, S3Client>;
const PREFIXES = ['raw/', 'dlq/', 'manifests/', 'input/', 'curated/', 'athena-results/', 'elsewhere/'];
const probe = uniqueName('least-privilege');
const key = (prefix: string) => `${prefix}${probe}/object.json`;

beforeAll(async () => {
  for (const prefix of PREFIXES) {
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key(prefix), Body: '{}' }));
  }
});

afterAll(async () => {
  for (const prefix of PREFIXES) {
    await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(prefix) })).catch(() => undefined);
    await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${key(prefix)}.new` })).catch(() => undefined);
  }
  for (const client of [admin, ...Object.values(clients)]) client.destroy();
});

/** 'allowed', or the error's name. */
async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'allowed',
    (error: Error) => error.name,
  );
}

const objectArn = (objectKey: string) => `arn:aws:s3:::${bucket}/${objectKey}`;
const documented = (role: Role, action: string, objectKey: string) =>
  role === 'admin' || evaluate([renderPolicy(role, values)], { action, resource: objectArn(objectKey) }) === 'allowed'
    ? 'allowed'
    : 'AccessDenied';

const cases = ROLES.filter((role) => role !== 'admin').flatMap((role) =>
  PREFIXES.flatMap((prefix) => [
    [role, 's3:GetObject', prefix],
    [role, 's3:PutObject', prefix],
    [role, 's3:DeleteObject', prefix],
  ]),
) as [Role, string, string][];

test.each(cases)('%s: %s on %s is as its policy says', async (role, action, prefix) => {
  const client = clients[role];
  const target = action === 's3:PutObject' ? `${key(prefix)}.new` : key(prefix);
  const call =
    action === 's3:GetObject'
      ? client.send(new GetObjectCommand({ Bucket: bucket, Key: target }))
      : action === 's3:PutObject'
        ? client.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: '{}' }))
        : client.send(new DeleteObjectCommand({ Bucket: bucket, Key: target }));
  expect(await outcome(call)).toBe(documented(role, action, target));
  // Put the probe back if the role was allowed to delete it.
  if (action === 's3:DeleteObject') await admin.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: '{}' }));
});

test("the pipeline's rules hold on the real server", async () => {
  const get = (role: Role, prefix: string) =>
    outcome(clients[role].send(new GetObjectCommand({ Bucket: bucket, Key: key(prefix) })));
  const put = (role: Role, prefix: string) =>
    outcome(clients[role].send(new PutObjectCommand({ Bucket: bucket, Key: `${key(prefix)}.new`, Body: '{}' })));
  const remove = (role: Role, prefix: string) =>
    outcome(clients[role].send(new DeleteObjectCommand({ Bucket: bucket, Key: key(prefix) })));

  // The ingest worker writes raw/ and dlq/ but reads and deletes nothing there.
  expect(await put('ingest', 'raw/')).toBe('allowed');
  expect(await put('ingest', 'dlq/')).toBe('allowed');
  expect(await get('ingest', 'raw/')).toBe('AccessDenied');
  expect(await remove('ingest', 'raw/')).toBe('AccessDenied');
  // The producer reads its input and nothing else.
  expect(await get('producer', 'input/')).toBe('allowed');
  expect(await get('producer', 'raw/')).toBe('AccessDenied');
  expect(await put('producer', 'raw/')).toBe('AccessDenied');
  // The crawler reads raw/ and writes nothing.
  expect(await get('crawler', 'raw/')).toBe('allowed');
  expect(await put('crawler', 'raw/')).toBe('AccessDenied');
  expect(await get('crawler', 'dlq/')).toBe('AccessDenied');
  // The analyst reads raw/, reads and writes query results, and cannot write raw/.
  expect(await get('analyst', 'raw/')).toBe('allowed');
  expect(await put('analyst', 'athena-results/')).toBe('allowed');
  expect(await put('analyst', 'raw/')).toBe('AccessDenied');
  expect(await get('analyst', 'dlq/')).toBe('AccessDenied');
  expect(await get('analyst', 'curated/')).toBe('allowed');
  expect(await put('analyst', 'curated/')).toBe('AccessDenied');
  // The compactor reads raw/ and never changes it, writes and replaces curated/, and sends poison to dlq/.
  expect(await get('compactor', 'raw/')).toBe('allowed');
  expect(await put('compactor', 'raw/')).toBe('AccessDenied');
  expect(await remove('compactor', 'raw/')).toBe('AccessDenied');
  expect(await put('compactor', 'curated/')).toBe('allowed');
  expect(await get('compactor', 'curated/')).toBe('allowed');
  expect(await put('compactor', 'dlq/')).toBe('allowed');
  expect(await get('compactor', 'dlq/')).toBe('AccessDenied');
  expect(await get('compactor', 'input/')).toBe('AccessDenied');
  expect(await put('compactor', 'manifests/')).toBe('AccessDenied');
  expect(await put('compactor', 'athena-results/')).toBe('AccessDenied');
  // Nobody but the admin touches anything outside the lake's prefixes.
  for (const role of ROLES.filter((name) => name !== 'admin'))
    expect(await put(role, 'elsewhere/')).toBe('AccessDenied');
  // The crawler and the analyst list the bucket to find objects.
  const list = (role: Role) =>
    outcome(clients[role].send(new ListObjectsV2Command({ Bucket: bucket, Prefix: config.s3.rawPrefix })));
  expect(await list('crawler')).toBe('allowed');
  expect(await list('analyst')).toBe('allowed');
  expect(await list('compactor')).toBe('allowed');
  expect(await list('ingest')).toBe('AccessDenied');
});

test('an unknown key and a tampered signature are refused by the S3 server and the local AWS service', async () => {
  const unknown = { accessKeyId: 'not-a-ticksync-key', secretAccessKey: 'whatever-secret-key' };
  const wrongSecret = { accessKeyId: config.aws.credentials.analyst!.accessKeyId, secretAccessKey: 'wrong-secret-key' };
  for (const [credentials, s3Error, glueError] of [
    [unknown, 'InvalidAccessKeyId', 'UnrecognizedClientException'],
    [wrongSecret, 'SignatureDoesNotMatch', 'InvalidSignatureException'],
  ] as const) {
    const s3 = new S3Client({
      region: config.aws.region,
      endpoint: config.aws.s3Endpoint,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    const glue = new GlueClient({
      region: config.aws.region,
      endpoint: config.aws.endpoint,
      credentials,
      maxAttempts: 1,
    });
    try {
      expect(await outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key('raw/') })))).toBe(s3Error);
      expect(await outcome(glue.send(new GetDatabasesCommand({})))).toBe(glueError);
    } finally {
      s3.destroy();
      glue.destroy();
    }
  }
});
