/**
 * Together's way of admitting requests and of refusing them: `Authorization: Bearer KEY` on every API path (the
 * presigned upload URL excepted: it carries its own signature), error bodies in OpenAI's shape
 * (`{"error": {"message", "type", "param", "code"}}`, which the SDK keeps whole as `err.error`), request ids under
 * `x-request-id`. The upload URL refuses the S3 way, in XML.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../../kernel/auth';
import { ApiError, sendJson } from '../../kernel/http';

/** Paths below `/together` that are the presigned upload URLs (no Bearer key: the signature admits them). */
export const UPLOAD_PATH = /^\/v1\/_uploads\/([^/]+)$/;

export function sendTogetherError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.toJson(), err.headers);
}

export function togetherError(status: number, message: string, code: string | null = null, param: string | null = null, headers: Record<string, string> = {}): ApiError {
  const type = status === 401 ? 'invalid_request_error' : status === 404 ? 'not_found' : status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return new ApiError(status, message, type, param, code, headers);
}

export function authenticateTogether(req: IncomingMessage, path: string, expected: string | null): void {
  if (UPLOAD_PATH.test(path)) return;
  const key = bearerToken(req.headers.authorization);
  if (key === '' || (expected !== null && key !== expected)) {
    throw togetherError(401, 'Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.', 'invalid_api_key');
  }
}

/** An S3-style refusal of the upload URL. */
export function sendUploadError(res: ServerResponse, status: number, code: string, message: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export const TOGETHER_REQUEST_IDS = { headers: ['x-request-id'] as const, next: (): string => randomBytes(16).toString('hex') };
