/**
 * xAI's way of admitting requests and of refusing them: `Authorization: Bearer KEY`, and error bodies in its own
 * REST shape, `{"code": "<gRPC status text>", "error": "<message>"}` (docs/provider-apis-2.md section 8).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../../kernel/auth';
import { ApiError, sendJson } from '../../kernel/http';

/** The gRPC status text xAI puts in `code`, by HTTP status. */
export function grpcText(status: number): string {
  if (status === 400) return 'Client specified an invalid argument';
  if (status === 401) return 'The request does not have valid authentication credentials';
  if (status === 403) return 'The caller does not have permission to execute the specified operation';
  if (status === 404) return 'Some requested entity was not found';
  if (status === 409) return 'The operation was aborted';
  if (status === 429) return 'Too many requests';
  if (status === 503) return 'The service is currently unavailable';
  if (status === 504) return 'The deadline expired before the operation could complete';
  return status >= 500 ? 'Internal error' : 'Client specified an invalid argument';
}

/** gRPC status codes, by HTTP status: what xAI puts in a failed request's `error.code`. */
export function grpcCode(status: number): number {
  const codes: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 501: 12, 503: 14, 504: 4 };
  return codes[status] ?? (status >= 500 ? 13 : 3);
}

export function sendXaiError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { code: grpcText(err.status), error: err.message }, err.headers);
}

export function xaiError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(status, message, 'invalid_request_error', null, null, headers);
}

export function authenticateXai(req: IncomingMessage, expected: string | null): void {
  const key = bearerToken(req.headers.authorization);
  if (key === '') throw xaiError(401, 'No API key provided. Send it as a bearer token (Authorization: Bearer YOUR_KEY). You can obtain an API key from https://console.x.ai.');
  if (expected !== null && key !== expected) {
    throw xaiError(401, `Incorrect API key provided: ${key.length > 8 ? `${key.slice(0, 2)}***${key.slice(-4)}` : '***'}. You can obtain an API key from https://console.x.ai.`);
  }
}
