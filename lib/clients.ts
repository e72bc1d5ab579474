import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config, Role } from './config';

// The pinned SDK supports Node 20 (the project's runtime); its notice that later
// releases will need Node 22 would otherwise open every script's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The S3 client a component uses, with that component's credentials. */
export function createS3Client(config: Config, role: Role): S3Client {
  return new S3Client({
    region: config.aws.region,
    endpoint: config.aws.s3Endpoint,
    // S3-compatible servers address buckets by path; AWS by virtual host.
    forcePathStyle: config.aws.s3Endpoint !== undefined,
    credentials: config.aws.credentials[role],
  });
}

/** The Glue client a component uses: TickSync's local service, or AWS when no endpoint is set. */
export function createGlueClient(config: Config, role: Role): GlueClient {
  return new GlueClient({
    region: config.aws.region,
    endpoint: config.aws.endpoint,
    credentials: config.aws.credentials[role],
  });
}

/** The Athena client a component uses: TickSync's local service, or AWS when no endpoint is set. */
export function createAthenaClient(config: Config, role: Role): AthenaClient {
  return new AthenaClient({
    region: config.aws.region,
    endpoint: config.aws.endpoint,
    credentials: config.aws.credentials[role],
  });
}
