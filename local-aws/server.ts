import http from 'node:http';
import path from 'node:path';
import { loadConfig, portOf, ROLES } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createAthenaService } from './athena';
import { Authorizer } from './authorize';
import { createGlueService } from './glue';
import { GlueStore } from './glue/store';
import { createJsonProtocolHandler } from './protocol/json-protocol';
import type { Identity } from './protocol/sigv4';

/**
 * TickSync's local AWS service: Glue (Data Catalog and crawlers) and Athena
 * (SQL on DuckDB over the lake) behind the AWS
 * JSON 1.1 protocol on TICKSYNC_AWS_ENDPOINT (127.0.0.1:4599 by default), with
 * state under `<stack dir>/aws/`. The identities it accepts are the configured
 * TickSync roles' keys, and each call is authorised by its role's IAM policy.
 */
function main(): void {
  const config = loadConfig();
  const logger = createLogger('local-aws', config.logLevel);
  if (!config.aws.endpoint) throw new Error('TICKSYNC_AWS_ENDPOINT is not set: nothing to serve');
  const identities = new Map<string, Identity>();
  for (const principal of ROLES) {
    // Locally the roles may share the admin keys; the first role named (admin, the root) keeps the key.
    const credentials = config.aws.credentials[principal];
    if (credentials && !identities.has(credentials.accessKeyId))
      identities.set(credentials.accessKeyId, { principal, ...credentials });
  }
  const authorizer = new Authorizer(config);
  const dataDir = path.join(config.stack.dir, 'aws');
  const glue = new GlueStore(path.join(dataDir, 'glue.json'));
  const handler = createJsonProtocolHandler({
    region: config.aws.region,
    identities,
    services: [
      createGlueService({ config, logger, store: glue, authorizer }),
      createAthenaService({ config, logger, dataDir, glue, authorizer }),
    ],
    authorizer,
    logger,
  });
  // A client that sends its headers or body too slowly is answered 408 and cut off, so slow
  // requests cannot hold connections (and their buffers) open.
  const server = http.createServer(
    { headersTimeout: 10_000, requestTimeout: 20_000, connectionsCheckingInterval: 1_000 },
    (request, response) => void handler(request, response),
  );
  const port = portOf(config.aws.endpoint);
  server.listen(port, config.stack.listenHost, () =>
    logger.info({ host: config.stack.listenHost, port, dataDir }, 'local AWS service listening'),
  );
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();
