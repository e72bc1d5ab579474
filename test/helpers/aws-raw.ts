import { SignatureV4 } from '@smithy/signature-v4';
import type { Config, Credentials } from '../../lib/config';
import { Sha256 } from '../../local-aws/protocol/sigv4';

/** What the local AWS service answered, as a test reads it. */
export interface RawAnswer {
  status: number;
  errorType: string | null;
  body: Record<string, unknown>;
}

export interface RawRequestOptions {
  /** The signing name: glue (default) or athena. */
  service?: string;
  credentials?: Credentials;
  date?: Date;
  region?: string;
  /** Headers the signer leaves out of SignedHeaders. */
  unsigned?: string[];
  /** Headers set after signing (the request as an attacker changes it in flight). */
  afterSigning?: Record<string, string>;
  /** The body sent, when it differs from the body signed. */
  sentBody?: string;
  /** Replaces the Authorization header. */
  authorization?: string;
  sign?: boolean;
}

/** A raw AWS JSON 1.1 request to the local service, signed as the SDKs sign it unless told otherwise. */
export async function rawRequest(
  config: Config,
  target: string,
  body: string,
  options: RawRequestOptions = {},
): Promise<RawAnswer> {
  const endpoint = config.aws.endpoint!;
  const url = new URL(endpoint);
  const credentials = options.credentials ?? config.aws.credentials.admin!;
  const request = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
    } as Record<string, string>,
    body,
  };
  const signer = new SignatureV4({
    credentials,
    region: options.region ?? config.aws.region,
    service: options.service ?? 'glue',
    sha256: Sha256,
  });
  const signed =
    options.sign === false
      ? request
      : await signer.sign(request, {
          signingDate: options.date ?? new Date(),
          unsignableHeaders: new Set(options.unsigned ?? []),
        });
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(signed.headers).filter(([name]) => name !== 'host'),
  );
  Object.assign(headers, options.afterSigning ?? {});
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  const response = await fetch(endpoint, { method: 'POST', headers, body: options.sentBody ?? body });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), body: parsed };
}
