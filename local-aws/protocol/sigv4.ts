import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import type { Role } from '../../lib/config';
import { IncompleteSignature, InvalidSignature, MissingAuthenticationToken, UnrecognizedClient } from '../errors';

/**
 * SigV4 verification: the request is signed again with the secret of the key
 * it names, by the same signer the AWS SDKs use, and the signatures compared.
 * Errors and their messages are those AWS answers with.
 */

export interface Identity {
  /** Who the key belongs to: a TickSync role, such as `crawler`. */
  principal: Role;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** AWS's allowance for clock skew between a signer and the service. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** SHA-256 (or HMAC-SHA-256 with a secret) for the SigV4 signer, from node:crypto. */
export class Sha256 implements Checksum {
  private hash: crypto.Hash | crypto.Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? crypto.createHash('sha256') : crypto.createHmac('sha256', toBuffer(this.secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const header = (request: SignedRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** `20240102T030405Z` → Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amzDate = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * Headers the signature must cover, as AWS requires: `host` (else a signature could be
 * replayed at another endpoint) and `x-amz-date` (else at another time), plus what the
 * protocol adds: for the JSON protocols `x-amz-target`, which names the operation (else
 * a request signed as one operation could be run as another).
 */
const ALWAYS_SIGNED = [
  ['host', "'Host' or ':authority'"],
  ['x-amz-date', "'X-Amz-Date'"],
] as const;

/** Returns the identity that signed the request, or throws the error AWS would answer with. */
export async function verifySigV4(
  request: SignedRequest,
  service: string,
  region: string,
  identities: ReadonlyMap<string, Identity>,
  now = new Date(),
  mustSign: readonly (readonly [string, string])[] = [],
): Promise<Identity> {
  const authorization = header(request, 'authorization');
  if (!authorization) throw MissingAuthenticationToken('Missing Authentication Token');
  const [algorithm, ...rest] = authorization.trim().split(/\s+/);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    throw IncompleteSignature(`Unsupported AWS 'algorithm': '${algorithm ?? ''}'`);
  }
  const fields = new Map<string, string>();
  for (const part of rest.join('').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !fields.get(name));
  const dateHeader = header(request, 'x-amz-date');
  if (!dateHeader) missing.push('X-Amz-Date');
  if (missing.length > 0) {
    throw IncompleteSignature(
      missing
        .map((name) =>
          name === 'X-Amz-Date'
            ? "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            : `Authorization header requires '${name}' parameter.`,
        )
        .join(' ') + ` Authorization=${authorization}`,
    );
  }
  const scope = fields.get('Credential')!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw IncompleteSignature(
      `Credential should be scoped to a valid region, service and terminated by 'aws4_request'. (${fields.get('Credential')})`,
    );
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService] = scope as [string, string, string, string];
  const signedAt = parseAmzDate(dateHeader!);
  if (!signedAt) throw IncompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${dateHeader}'.`);
  if (scopeDate !== dateHeader!.slice(0, 8)) {
    throw InvalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${dateHeader!.slice(0, 8)}', from '${dateHeader}'.`,
    );
  }
  if (scopeRegion !== region) {
    throw InvalidSignature(
      `Credential should be scoped to a valid region. Expected '${region}', got '${scopeRegion}'.`,
    );
  }
  if (scopeService !== service) {
    throw InvalidSignature(`Credential should be scoped to correct service: '${service}'.`);
  }
  const identity = identities.get(accessKeyId);
  if (!identity) throw UnrecognizedClient('The security token included in the request is invalid.');

  if (signedAt.getTime() < now.getTime() - MAX_SKEW_MS) {
    throw InvalidSignature(
      `Signature expired: ${dateHeader} is now earlier than ${amzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDate(now)} - 15 min.)`,
    );
  }
  if (signedAt.getTime() > now.getTime() + MAX_SKEW_MS) {
    throw InvalidSignature(
      `Signature not yet current: ${dateHeader} is still later than ${amzDate(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDate(now)} + 15 min.)`,
    );
  }

  // Sign a copy that carries only the headers the client signed.
  const signedHeaders = fields.get('SignedHeaders')!.split(';');
  for (const [name, spelled] of [...ALWAYS_SIGNED, ...mustSign]) {
    if (!signedHeaders.includes(name)) {
      throw InvalidSignature(`${spelled} must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(request, name);
    if (value === undefined) throw InvalidSignature(`Signed header '${name}' is missing from the request.`);
    headers[name] = value;
  }
  // The signer trusts a payload hash given in x-amz-content-sha256; the body's own hash is what was signed.
  if ('x-amz-content-sha256' in headers) {
    headers['x-amz-content-sha256'] = crypto.createHash('sha256').update(request.body).digest('hex');
  }
  const url = new URL(request.url, 'http://localhost');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: identity.secretAccessKey },
    region: scopeRegion,
    service: scopeService,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? 'localhost',
      path: url.pathname,
      query,
      headers,
      body: request.body,
    },
    { signingDate: signedAt, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const given = fields.get('Signature')!;
  if (given.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
    throw InvalidSignature(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return identity;
}
