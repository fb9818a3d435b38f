/**
 * AWS SDK failures (Bedrock's control plane and S3) as `ProviderError`s: the HTTP status the SDK kept
 * (`$metadata.httpStatusCode`) classified like every provider's (../http-errors.ts `kindOfStatus`), AWS's throttling
 * and credential error names read as what they mean, and a call that got no answer as `unreachable`. Messages name
 * the call and AWS's own words; they never hold credentials (the SDK's messages carry none).
 */
import { kindOfStatus } from '../http-errors';
import { ProviderError, type ProviderErrorKind } from '../types';

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  cause?: unknown;
}

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded']);
const CREDENTIALS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'CredentialsProviderError']);
const NETWORK = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ECONNABORTED)\b/;

function kindOf(err: AwsError): ProviderErrorKind {
  if (err.name && THROTTLING.has(err.name)) return 'rate_limited';
  if (err.name && CREDENTIALS.has(err.name)) return 'auth';
  if (err.name === 'ServiceQuotaExceededException') return 'rate_limited';
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined) return kindOfStatus(status);
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as AwsError).cause, depth++) {
    const ae = e as AwsError;
    if ((ae.code && NETWORK.test(ae.code)) || NETWORK.test(ae.message ?? '') || ae.name === 'TimeoutError') return 'unreachable';
  }
  return 'transient';
}

/** `err` of the call `what` to `label` as a `ProviderError`. */
export function awsFailure(label: string, what: string, err: unknown, where: string | null = null): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err && typeof err === 'object' ? err : { message: String(err) }) as AwsError;
  const kind = kindOf(e);
  const status = e.$metadata?.httpStatusCode ?? null;
  const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const at = where ? ` (${where})` : '';
  return new ProviderError(kind, `${label} ${what} failed${at}: ${name}${e.message ?? 'no message'}`, { status, cause: err, url: where });
}

/** Runs an AWS SDK call, its failure as a `ProviderError`. */
export async function awsCall<T>(label: string, what: string, fn: () => Promise<T>, where: string | null = null): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw awsFailure(label, what, err, where);
  }
}
