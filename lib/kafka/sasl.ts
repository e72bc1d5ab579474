import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import type { Config } from '../config';

/** An OAUTHBEARER token: its value, the principal it names and when it expires (ms since the epoch). */
export interface OAuthBearerToken {
  value: string;
  principal: string;
  lifetime: number;
}

/** SASL settings in the shape both clients take (kafkajs ignores a token's principal and lifetime). */
export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; oauthBearerProvider: () => Promise<OAuthBearerToken> };

/**
 * Kafka's SASL settings: a user and password as given, or for Amazon MSK's IAM
 * authentication an OAUTHBEARER token signed with the process's AWS credentials
 * (the default chain: on EC2 the instance profile), made anew at each
 * authentication by AWS's signer. TLS is `config.kafka.ssl` (MSK's IAM listener needs it).
 */
export function kafkaSasl(config: Config): KafkaSasl | undefined {
  const { sasl } = config.kafka;
  if (sasl === undefined) return undefined;
  if (sasl.mechanism !== 'aws-msk-iam') return sasl;
  const region = config.aws.region;
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => {
      const { token, expiryTime } = await generateAuthToken({ region });
      // MSK takes any principal name: the signed URL in the token says who connects.
      return { value: token, principal: 'ticksync', lifetime: expiryTime };
    },
  };
}
