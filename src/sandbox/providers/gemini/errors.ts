/** Google's error wire format: `{"error": {"code", "message", "status"}}`, the status being the canonical code's name. */
import type { ServerResponse } from 'node:http';
import { ApiError, sendJson } from '../../kernel/http';

/** HTTP status -> the canonical code's name Google sends with it. */
export function statusName(status: number): string {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

/** Renders any `ApiError` (including injected faults, built in OpenAI terms) in Google's shape. */
export function sendGeminiError(res: ServerResponse, err: ApiError): void {
  const status = err.type === 'FAILED_PRECONDITION' ? 'FAILED_PRECONDITION' : statusName(err.status);
  sendJson(res, err.status, { error: { code: err.status, message: err.message, status } }, err.headers);
}

export function geminiError(status: number, message: string, name = statusName(status)): ApiError {
  return new ApiError(status, message, name);
}
