import type { Config } from '../lib/config';
import { ROLES } from '../lib/config';
import type { PolicyDocument, PolicyStatement } from './evaluate';
import { renderPolicy, type PolicyValues } from './policies';

/**
 * The lake bucket's policy for the local S3 server, made from the roles' own
 * documents: each role's S3 statements on this bucket, with the role's access
 * key as the principal. The admin keys are the server's root and need none.
 * The local server evaluates actions, resources and explicit denies but not
 * conditions, so a ListBucket granted for a prefix lists the whole bucket
 * locally (AWS enforces the prefix).
 */
export function localBucketPolicy(config: Config, values: PolicyValues): PolicyDocument & { Statement: unknown[] } {
  const bucketArn = `arn:${values['AWS::Partition']}:s3:::${config.s3.bucket}`;
  const admin = config.aws.credentials.admin?.accessKeyId;
  const statements = [];
  for (const role of ROLES) {
    const key = config.aws.credentials[role]?.accessKeyId;
    if (role === 'admin' || key === undefined || key === admin) continue;
    for (const statement of renderPolicy(role, values).Statement as PolicyStatement[]) {
      const actions = [statement.Action ?? []].flat();
      const resources = [statement.Resource ?? []]
        .flat()
        .filter((arn) => arn === bucketArn || arn.startsWith(`${bucketArn}/`));
      if (resources.length === 0 || !actions.every((action) => action.startsWith('s3:'))) continue;
      const { Condition: _condition, ...rest } = statement;
      statements.push({
        ...rest,
        Sid: `${role}${statement.Sid ?? statements.length}`,
        Principal: { AWS: [key] },
        Resource: resources,
      });
    }
  }
  return { Version: '2012-10-17', Statement: statements };
}
