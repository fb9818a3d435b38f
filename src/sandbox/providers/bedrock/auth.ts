/**
 * How Bedrock admits a request: AWS Signature Version 4, `Authorization: AWS4-HMAC-SHA256
 * Credential=<accessKeyId>/<date>/<region>/bedrock/aws4_request, SignedHeaders=..., Signature=...` (what
 * `@aws-sdk/client-bedrock` and boto3 send; docs/provider-apis-3.md §1 "Local emulation": a fake server may ignore
 * the signature). The signature is not verified; the access key id stands for the API key, and the credential
 * scope's region names the region the job's ARN is in. Bedrock API keys (`Authorization: Bearer ...`, any-llm's
 * `bedrock.py` L440) are admitted the same way, with the token as the key.
 */
import type { IncomingMessage } from 'node:http';
import { bearerToken, headerValue } from '../../kernel/auth';
import { bedrockError } from './errors';

export const DEFAULT_REGION = 'us-east-1';

export interface Credential {
  accessKeyId: string;
  region: string;
}

/** The credential a request carries (SigV4's credential scope, or a Bedrock API key); null when it carries none. */
export function credentialOf(req: IncomingMessage): Credential | null {
  const authorization = headerValue(req.headers.authorization);
  const scope = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)/i.exec(authorization)?.[1];
  if (scope) {
    const [accessKeyId, , region] = scope.split('/');
    if (!accessKeyId) return null;
    return { accessKeyId, region: region || DEFAULT_REGION };
  }
  const token = bearerToken(authorization);
  return token === '' ? null : { accessKeyId: token, region: DEFAULT_REGION };
}

/**
 * Refuses a request without credentials, or (when the sandbox has an API key) with another access key id, in the
 * words AWS's front end uses for both [inferred from AWS's generic SigV4 refusals; Bedrock documents neither].
 */
export function authenticateBedrock(req: IncomingMessage, expected: string | null): void {
  const credential = credentialOf(req);
  if (credential === null) throw bedrockError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  if (expected !== null && credential.accessKeyId !== expected) {
    throw bedrockError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
}
