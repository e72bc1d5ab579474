import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { userPrincipal, type Authorizer, type Permission, type Principal } from '../authorize';
import { InternalFailure, Serialization, ServiceError, UnknownOperation } from '../errors';
import { verifySigV4, type Identity } from './sigv4';
import { inputSchema, MAX_NESTING_DEPTH, nestingDepth, validateInput, validationMessage } from './validate';

/**
 * The AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`,
 * a JSON body, timestamps as epoch seconds, and errors as a 4xx/5xx status with
 * `{"__type","message"}` and `X-Amzn-Errortype`.
 */

export interface RequestContext {
  identity: Identity;
  /** The caller as its policy is evaluated (the request itself is already authorised). */
  principal: Principal;
  requestId: string;
  logger: Logger;
}

export type Handler = (input: never, context: RequestContext) => unknown;

/** Per operation, what the caller must be allowed to do for the request to run. */
export type PermissionRules = Record<string, (input: never, principal: Principal) => Permission[]>;

export interface JsonService {
  /** The SigV4 signing name: `glue`, `athena`. */
  signingName: string;
  /** The `X-Amz-Target` prefix: `AWSGlue`, `AmazonAthena`. */
  targetPrefix: string;
  /** The `@aws-sdk/client-*` module, whose `<Op>$` schemas validate requests. */
  sdk: Record<string, unknown>;
  /** The service's own error for a request that breaks its model. */
  invalidInput: (message: string) => ServiceError;
  operations: Record<string, Handler>;
  /** One rule per operation: every request is authorised before its handler runs. */
  permissions: PermissionRules;
}

export interface ProtocolOptions {
  region: string;
  identities: ReadonlyMap<string, Identity>;
  services: JsonService[];
  authorizer: Authorizer;
  logger: Logger;
}

/** AWS rejects request bodies over a few MB; 16 MiB is more than any catalog call needs. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Serialization(`Request body is larger than ${MAX_BODY_BYTES} bytes`));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** JSON with Dates as epoch seconds, as the JSON protocols send timestamps. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, field: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : field;
  });
}

function send(response: ServerResponse, status: number, requestId: string, body: string, errorType?: string): void {
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(body);
}

export function createJsonProtocolHandler(options: ProtocolOptions) {
  for (const service of options.services) {
    const unguarded = Object.keys(service.operations).filter((name) => !Object.hasOwn(service.permissions, name));
    if (unguarded.length > 0)
      throw new Error(`${service.targetPrefix}: no permission rule for ${unguarded.join(', ')}`);
  }
  const byPrefix = new Map(options.services.map((service) => [service.targetPrefix, service]));
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const requestId = crypto.randomUUID();
    const logger = options.logger.child({ requestId });
    const target = String(request.headers['x-amz-target'] ?? '');
    try {
      const body = await readBody(request);
      const [prefix, operation] = target.split('.', 2) as [string, string | undefined];
      const service = byPrefix.get(prefix);
      if (request.method !== 'POST' || !service || !operation) {
        throw UnknownOperation(target ? `Unknown operation ${target}` : 'Missing X-Amz-Target header');
      }
      const identity = await verifySigV4(
        { method: request.method, url: request.url ?? '/', headers: request.headers, body },
        service.signingName,
        options.region,
        options.identities,
        new Date(),
        [['x-amz-target', "'X-Amz-Target'"]],
      );
      const handler = Object.hasOwn(service.operations, operation) ? service.operations[operation] : undefined;
      const schema = inputSchema(service.sdk, operation);
      if (!handler || !schema) throw UnknownOperation(`Unknown operation ${target}`);
      let parsed: unknown = {};
      if (body.length > 0) {
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch (error) {
          throw Serialization(`Could not parse the request body as JSON: ${(error as Error).message}`);
        }
      }
      if (nestingDepth(parsed) > MAX_NESTING_DEPTH) {
        throw Serialization(`The request body is nested deeper than ${MAX_NESTING_DEPTH} levels`);
      }
      const { problems, value: input } = validateInput(schema, parsed);
      if (problems.length > 0) throw service.invalidInput(validationMessage(problems.slice(0, 10)));
      const principal = userPrincipal(identity.principal);
      const rule = service.permissions[operation] as (input: unknown, principal: Principal) => Permission[];
      options.authorizer.check(principal, rule(input, principal));
      const output = await (handler as (input: unknown, context: RequestContext) => unknown)(input, {
        identity,
        principal,
        requestId,
        logger,
      });
      logger.debug({ operation: target, principal: identity.principal }, 'handled');
      send(response, 200, requestId, toWireJson(output ?? {}));
    } catch (caught) {
      const error = caught instanceof ServiceError ? caught : undefined;
      if (!error) logger.error({ err: caught, operation: target }, 'internal error');
      const answer = error ?? InternalFailure('The request processing has failed because of an unknown error.');
      if (error) logger.info({ operation: target, error: error.code, message: error.message }, 'request refused');
      send(
        response,
        answer.status,
        requestId,
        JSON.stringify({ __type: answer.code, message: answer.message, ...answer.fields }),
        answer.code,
      );
    }
  };
}
