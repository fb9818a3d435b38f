/**
 * How Azure OpenAI admits a request: the key in an `api-key` header (on the v1 API also as a bearer token),
 * and on the classic API an `api-version` query parameter on every request.
 */
import type { IncomingMessage } from 'node:http';
import { bearerToken, headerValue } from '../../kernel/auth';
import { ApiError } from '../../kernel/http';

const ACCESS_DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';

/** `2024-10-21`, `2025-03-01-preview`. */
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** The v1 API (`/openai/v1/...`) takes no `api-version`; the classic one (`/openai/...`) requires it. */
export function isV1Path(path: string): boolean {
  return path === '/openai/v1' || path.startsWith('/openai/v1/');
}

export function authenticateAzure(req: IncomingMessage, path: string, url: URL, expected: string | null): void {
  const v1 = isV1Path(path);
  const key = headerValue(req.headers['api-key']) || (v1 ? bearerToken(req.headers.authorization) : '');
  if (key === '' || (expected !== null && key !== expected)) throw new ApiError(401, ACCESS_DENIED, 'invalid_request_error', null, '401');
  if (v1) return;
  const version = url.searchParams.get('api-version');
  // Without a version Azure finds no resource at the path; an unknown one it names.
  if (version === null || version === '') throw new ApiError(404, 'Resource not found', 'invalid_request_error', null, '404');
  if (!API_VERSION.test(version)) throw new ApiError(400, 'API version not supported', 'invalid_request_error', null, 'BadRequest');
}
