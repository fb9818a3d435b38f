/** Anthropic's error wire format: the error type follows from the HTTP status, and the body carries the request id. */
import type { ServerResponse } from 'node:http';
import { ApiError, sendJson } from '../../kernel/http';
import type { ErrorResponseJson } from './wire';

/** Status code → `error.type`, per Anthropic's error table; other 4xx read as invalid requests. */
export function errorTypeFor(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 409:
      return 'conflict_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function errorBody(status: number, message: string, requestId: string | null): ErrorResponseJson {
  return { type: 'error', error: { type: errorTypeFor(status), message }, request_id: requestId };
}

/** Renders any `ApiError` (including injected faults, built in OpenAI terms) in Anthropic's shape. */
export function sendAnthropicError(res: ServerResponse, err: ApiError, requestId: string): void {
  sendJson(res, err.status, errorBody(err.status, err.message, requestId), err.headers);
}

/** Handlers throw plain `ApiError`s; only the status and message matter on this side. */
export function anthropicError(status: number, message: string): ApiError {
  return new ApiError(status, message, errorTypeFor(status));
}
